import { and, asc, eq, inArray, isNull, lte, ne, or } from "drizzle-orm";
import { createDb, type Db } from "../db/client";
import { coalescingBatch } from "../db/coalesce";
import { type AccountRow, accounts } from "../db/schema";
import {
  newLeaseId,
  REFRESH_LEASE_MS,
  type RefreshOutcome,
  refreshLeased,
} from "../features/accounts/refresh.service";
import { MAX_CONCURRENCY } from "../features/webhooks/delivery.service";
import { MAX_ENDPOINTS_PER_WORKSPACE } from "../features/webhooks/webhooks.service";
import { SECOND } from "../lib/time";
import { metered } from "./budget";

/** Accounts claimed per statement; the run keeps claiming until nothing is due or time is up. */
export const CLAIM_BATCH = 60;
/** Wall-clock budget of one run, well inside a Cron Trigger's limits; the rest waits for the next minute. */
export const REFRESH_BUDGET_MS = 25 * SECOND;
/**
 * Subrequests one refresh may make at worst: its token request, a Mastodon app lookup, and the
 * outcome's batch with an event (the endpoint lookup, the event, the UPDATE and a delivery to each
 * of up to 20 endpoints). A typical refresh makes two: the token request and its UPDATE.
 */
export const WORST_REFRESH_SUBREQUESTS = 5 + MAX_ENDPOINTS_PER_WORKSPACE;
const TYPICAL_REFRESH_SUBREQUESTS = 2;
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
 * Claims due accounts with one atomic UPDATE … RETURNING (so overlapping runs and POST …/refresh
 * never hold the same account), oldest due first so none starves, under this run's lease.
 */
export function claimDueAccounts(db: Db, leaseId: string, now: number, limit: number) {
  const leaseFree = or(isNull(accounts.refreshLeaseUntil), lte(accounts.refreshLeaseUntil, now));
  const due = db
    .select({ id: accounts.id })
    .from(accounts)
    .where(and(lte(accounts.nextRefreshAt, now), ne(accounts.status, "disconnected"), leaseFree))
    .orderBy(asc(accounts.nextRefreshAt))
    .limit(limit);
  return db
    .update(accounts)
    .set({ refreshLeaseId: leaseId, refreshLeaseUntil: now + REFRESH_LEASE_MS })
    .where(and(inArray(accounts.id, due), leaseFree))
    .returning();
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
  options: { budgetMs?: number; clock?: () => number } = {},
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
  while (clock() < deadline) {
    // After the claim (one statement), at least one refresh must fit at its worst; claim no more
    // than the rest could refresh at the typical cost.
    const spare = budget.left() - keep - 1;
    if (spare < WORST_REFRESH_SUBREQUESTS) break;
    const affordable = Math.floor(spare / TYPICAL_REFRESH_SUBREQUESTS);
    const claimed = await claimDueAccounts(db, leaseId, now, Math.min(CLAIM_BATCH, affordable));
    if (claimed.length === 0) break;
    run.claimed += claimed.length;
    // Six lanes at most (the Workers limit on open connections). A lane stops when time is up or
    // the budget cannot hold one more refresh's worst case; the others go on while theirs fits.
    let next = 0;
    const lane = async () => {
      while (next < claimed.length) {
        if (clock() >= deadline || !budget.take(WORST_REFRESH_SUBREQUESTS, keep)) return;
        const row = claimed[next++] as AccountRow;
        try {
          budget.spend(); // the token request (counted whether or not the model makes one)
          const outcome = await refreshLeased(env, db, row, leaseId, now, now, { batch });
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
        } finally {
          budget.release(WORST_REFRESH_SUBREQUESTS);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(MAX_CONCURRENCY, claimed.length) }, lane));
    const late = claimed.slice(next).map((row) => row.id);
    if (late.length) {
      // Out of time or budget: hand these back now rather than when the lease lapses.
      await db
        .update(accounts)
        .set({ refreshLeaseId: null, refreshLeaseUntil: null })
        .where(and(inArray(accounts.id, late), eq(accounts.refreshLeaseId, leaseId)));
      run.released += late.length;
      break;
    }
  }
  run.subrequests = budget.spent;
  return run;
}
