import { createDb } from "../db/client";
import { coalescingBatch } from "../db/coalesce";
import type { AccountRow } from "../db/schema";
import {
  claimDueAccounts,
  newLeaseId,
  type RefreshOutcome,
  refreshLeased,
  releaseLeases,
} from "../features/accounts/refresh.service";
import { MAX_CONCURRENCY } from "../lib/pool";
import { SECOND } from "../lib/time";
import { metered, type SubrequestBudget } from "./budget";

/** Accounts claimed per statement; the run keeps claiming until nothing is due or time is up. */
export const CLAIM_BATCH = 60;
/** Wall-clock budget of one run, well inside a Cron Trigger's limits; the rest waits for the next minute. */
export const REFRESH_BUDGET_MS = 25 * SECOND;
/**
 * Subrequests one refresh may make at worst: after a lapsed lease the KV read of a grant a failed
 * write left (pending-grants.ts), its token request, a Mastodon app lookup, and the outcome's batch
 * with an event (the endpoint lookup, the event, its deliveries in one statement, the UPDATE). A
 * typical refresh makes two: the token request and its UPDATE. A failing write's retries and KV
 * copy come out of the tenth of the cap the budget never spends; the copy is made first.
 */
export const WORST_REFRESH_SUBREQUESTS = 7;
const TYPICAL_REFRESH_SUBREQUESTS = 2;
/** What a lane holds of the budget per account: a refresh at its worst, and a claim it may wait for. */
const LANE_HOLD = WORST_REFRESH_SUBREQUESTS + 1;
/** How far apart the lanes start (see the lane). */
const LANE_STAGGER_MS = 3;
/** The share of the invocation's subrequests left for the jobs that run after this one. */
export const LATER_JOBS_SHARE = 0.25;

export interface RefreshRun {
  claimed: number;
  outcomes: Record<RefreshOutcome["kind"], number>;
  released: number;
  /** Subrequests the invocation had spent when this run ended. */
  subrequests: number;
}

/** Where a run's accounts come from: the cron's claim of due accounts, or a queue batch's messages. */
export interface RefreshSource {
  /** Takes up to `limit` accounts under the run's lease (one statement); undefined when none is left. */
  claim(limit: number): Promise<AccountRow[] | undefined>;
  /** When the caller decided to refresh the account (refreshLeased's requestedAt); the run's now by default. */
  requestedAt?(row: AccountRow): number;
  /** Each account's end: its outcome, or the error our own code threw. */
  settled?(row: AccountRow, result: { outcome: RefreshOutcome } | { error: unknown }): void;
}

export interface LaneOptions {
  /** Accounts a claim takes at most. */
  claimBatch: number;
  /** Kept back from the budget for what runs after (beyond the hand-back statement). */
  keep: number;
  deadline: number;
  clock: () => number;
  providerTimeoutMs?: number;
}

/**
 * Refreshes accounts from `source` through the same code as POST …/refresh, at most six at a time
 * (the Workers limit on open connections), within a deadline and the invocation's subrequest
 * budget: an account is started only while its worst case fits, so a fetched token is never left
 * without the query that stores it. What no lane reached is handed back at the end.
 */
export async function refreshInLanes(
  env: Env,
  budget: SubrequestBudget,
  leaseId: string,
  now: number,
  source: RefreshSource,
  options: LaneOptions,
): Promise<RefreshRun> {
  const db = createDb(env.DB);
  const { clock, deadline } = options;
  // Kept back: the later work's share and the statement that hands unreached accounts back.
  const keep = options.keep + 1;
  // Lanes that finish together share a D1 round trip for their outcomes.
  const batch = coalescingBatch(db);
  const run: RefreshRun = {
    claimed: 0,
    released: 0,
    outcomes: { refreshed: 0, "already-refreshed": 0, "not-refreshable": 0, refused: 0, transient: 0 },
    subrequests: 0,
  };
  // Claimed accounts wait here; the lanes pull from it and the run refills it with one claim
  // whenever it runs dry, so no lane waits for the slowest of a batch.
  const queue: AccountRow[] = [];
  let claiming: Promise<void> | undefined;
  let exhausted = false;
  const refill = async () => {
    // Claim while one more refresh could fit at its worst once the lanes under way are done, and
    // no more than the rest could refresh at the typical cost. The claim (one statement) is within
    // the hold of the lane that waits for it; what no lane can afford in the end is handed back.
    const spare = budget.unspent() - keep - 1;
    if (clock() >= deadline || spare < WORST_REFRESH_SUBREQUESTS) {
      exhausted = true;
      return;
    }
    const affordable = Math.floor(spare / TYPICAL_REFRESH_SUBREQUESTS);
    const claimed = await source.claim(Math.min(options.claimBatch, affordable));
    if (claimed === undefined) {
      exhausted = true;
      return;
    }
    run.claimed += claimed.length;
    queue.push(...claimed);
  };
  const nextAccount = async () => {
    while (queue.length === 0 && !exhausted) {
      claiming ??= refill().finally(() => {
        claiming = undefined;
      });
      await claiming;
    }
    return queue.shift();
  };

  const refreshOne = async (row: AccountRow) => {
    try {
      budget.spend(); // the token request (counted whether or not the model makes one)
      const outcome = await refreshLeased(
        { env, db, now },
        row,
        { leaseId, requestedAt: source.requestedAt?.(row) ?? now },
        { batch, providerTimeoutMs: options.providerTimeoutMs },
      );
      run.outcomes[outcome.kind] += 1;
      source.settled?.(row, { outcome });
    } catch (error) {
      console.error(
        JSON.stringify({
          level: "error",
          job: "refresh",
          accountId: row.id,
          message: error instanceof Error ? error.message : "unknown",
        }),
      );
      source.settled?.(row, { error });
    }
  };

  // Six lanes at most (the Workers limit on open connections). A lane stops when time is up or the
  // budget cannot hold one more account; the others go on while theirs fits.
  const lane = async (index: number) => {
    for (let first = true; ; first = false) {
      if (clock() >= deadline || !budget.take(LANE_HOLD, keep)) return;
      try {
        const row = await nextAccount();
        if (!row) return;
        // Lanes start a few milliseconds apart. Started together against a provider that answers
        // in a steady time, they stay in lockstep: every response lands at once, and each lane's
        // handling waits behind the others'.
        if (first && index > 0) await new Promise((resolve) => setTimeout(resolve, index * LANE_STAGGER_MS));
        await refreshOne(row);
      } finally {
        budget.release(LANE_HOLD);
      }
    }
  };
  await Promise.all(Array.from({ length: MAX_CONCURRENCY }, (_, index) => lane(index)));

  if (queue.length) {
    // Out of time or budget: hand these back now rather than when the lease lapses (one
    // statement: the queue never holds more than one claim).
    await releaseLeases(
      db,
      queue.map((row) => row.id),
      leaseId,
    );
    run.released = queue.length;
  }
  run.subrequests = budget.spent;
  return run;
}

/** The token-maintenance job without a queue: the cron claims due accounts and refreshes them itself. */
export async function refreshTokens(
  rawEnv: Env,
  now: number,
  options: { budgetMs?: number; clock?: () => number; providerTimeoutMs?: number } = {},
): Promise<RefreshRun> {
  const { env, budget } = metered(rawEnv);
  const db = createDb(env.DB);
  const clock = options.clock ?? Date.now;
  const leaseId = newLeaseId();
  const source: RefreshSource = {
    async claim(limit) {
      const claimed = await claimDueAccounts(db, leaseId, now, limit);
      return claimed.length ? claimed : undefined;
    },
  };
  return refreshInLanes(env, budget, leaseId, now, source, {
    claimBatch: CLAIM_BATCH,
    keep: Math.ceil(budget.limit * LATER_JOBS_SHARE),
    deadline: clock() + (options.budgetMs ?? REFRESH_BUDGET_MS),
    clock,
    providerTimeoutMs: options.providerTimeoutMs,
  });
}
