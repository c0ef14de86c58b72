import { and, eq, inArray } from "drizzle-orm";
import { createDb } from "../db/client";
import { coalescingBatch } from "../db/coalesce";
import { type AccountRow, accounts } from "../db/schema";
import {
  claimDueAccounts,
  newLeaseId,
  type RefreshOutcome,
  refreshLeased,
} from "../features/accounts/refresh.service";
import { MAX_CONCURRENCY } from "../lib/pool";
import { SECOND } from "../lib/time";
import { metered } from "./budget";

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

/**
 * The token-maintenance job: refreshes every due account through the same code as POST …/refresh,
 * at most six at a time (the Workers limit on open connections), within a time budget and the
 * invocation's subrequest budget: an account is started only while its worst case fits, so a
 * fetched token is never left without the query that stores it.
 */
export async function refreshTokens(
  rawEnv: Env,
  now: number,
  options: { budgetMs?: number; clock?: () => number; providerTimeoutMs?: number } = {},
): Promise<RefreshRun> {
  const { env, budget } = metered(rawEnv);
  const db = createDb(env.DB);
  const clock = options.clock ?? Date.now;
  const deadline = clock() + (options.budgetMs ?? REFRESH_BUDGET_MS);
  // Kept back: the later jobs' share and the statement that hands unreached accounts back.
  const keep = Math.ceil(budget.limit * LATER_JOBS_SHARE) + 1;
  const leaseId = newLeaseId();
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
    const claimed = await claimDueAccounts(db, leaseId, now, Math.min(CLAIM_BATCH, affordable));
    if (claimed.length === 0) exhausted = true;
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
        { leaseId, requestedAt: now },
        {
          batch,
          providerTimeoutMs: options.providerTimeoutMs,
        },
      );
      run.outcomes[outcome.kind] += 1;
    } catch (err) {
      console.error(
        JSON.stringify({
          level: "error",
          job: "refresh",
          accountId: row.id,
          message: err instanceof Error ? err.message : "unknown",
        }),
      );
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
    const late = queue.map((row) => row.id);
    await db
      .update(accounts)
      .set({ refreshLeaseId: null, refreshLeaseUntil: null })
      .where(and(inArray(accounts.id, late), eq(accounts.refreshLeaseId, leaseId)));
    run.released = late.length;
  }
  run.subrequests = budget.spent;
  return run;
}
