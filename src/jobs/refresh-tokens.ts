import { and, asc, eq, inArray, isNull, lte, ne, or } from "drizzle-orm";
import { createDb, type Db } from "../db/client";
import { coalescingBatch } from "../db/coalesce";
import { accounts } from "../db/schema";
import {
  newLeaseId,
  REFRESH_LEASE_MS,
  type RefreshOutcome,
  refreshLeased,
} from "../features/accounts/refresh.service";
import { MAX_CONCURRENCY, pool } from "../features/webhooks/delivery.service";
import { SECOND } from "../lib/time";

/** Accounts claimed per statement; the run keeps claiming until nothing is due or time is up. */
export const CLAIM_BATCH = 60;
/** Wall-clock budget of one run, well inside a Cron Trigger's limits; the rest waits for the next minute. */
export const REFRESH_BUDGET_MS = 25 * SECOND;

export interface RefreshRun {
  claimed: number;
  outcomes: Record<RefreshOutcome["kind"], number>;
  released: number;
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
 * at most six at a time (the Workers limit on open connections), within a time budget.
 */
export async function refreshTokens(
  env: Env,
  now: number,
  options: { budgetMs?: number; clock?: () => number } = {},
): Promise<RefreshRun> {
  const db = createDb(env.DB);
  const clock = options.clock ?? Date.now;
  const deadline = clock() + (options.budgetMs ?? REFRESH_BUDGET_MS);
  const leaseId = newLeaseId();
  // Lanes that finish together share a D1 round trip for their outcomes.
  const batch = coalescingBatch(db);
  const run: RefreshRun = {
    claimed: 0,
    released: 0,
    outcomes: { refreshed: 0, "already-refreshed": 0, "not-refreshable": 0, refused: 0, transient: 0 },
  };
  while (clock() < deadline) {
    const claimed = await claimDueAccounts(db, leaseId, now, CLAIM_BATCH);
    if (claimed.length === 0) break;
    run.claimed += claimed.length;
    const late: string[] = [];
    await pool(claimed, MAX_CONCURRENCY, async (row) => {
      if (clock() >= deadline) {
        late.push(row.id);
        return;
      }
      try {
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
      }
    });
    if (late.length) {
      // Out of time: hand these back now rather than when the lease lapses.
      await db
        .update(accounts)
        .set({ refreshLeaseId: null, refreshLeaseUntil: null })
        .where(and(inArray(accounts.id, late), eq(accounts.refreshLeaseId, leaseId)));
      run.released += late.length;
      break;
    }
  }
  return run;
}
