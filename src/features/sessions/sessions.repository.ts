import { and, eq, gt, inArray, lt, or, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import type { Statement } from "../../db/coalesce";
import { type ConnectSessionRow, connectSessions } from "../../db/schema";
import type { Platform } from "../../lib/domain";

export type NewConnectSession = typeof connectSessions.$inferInsert;

export async function insertSession(db: Db, row: NewConnectSession, purgeBefore: number) {
  // Sessions long past their expiry are dropped with the workspace's next new one: the table stays bounded.
  await db.batch([
    db.insert(connectSessions).values(row),
    db
      .delete(connectSessions)
      .where(
        and(eq(connectSessions.workspaceId, row.workspaceId), lt(connectSessions.expiresAt, purgeBefore)),
      ),
  ]);
}

export async function findSession(db: Db, workspaceId: string, id: string) {
  const [row] = await db
    .select()
    .from(connectSessions)
    .where(and(eq(connectSessions.workspaceId, workspaceId), eq(connectSessions.id, id)))
    .limit(1);
  return row;
}

export async function findSessionByTokenHash(db: Db, tokenHash: string) {
  const [row] = await db
    .select()
    .from(connectSessions)
    .where(eq(connectSessions.tokenHash, tokenHash))
    .limit(1);
  return row;
}

/**
 * Takes the session for one completion: only one caller can win, and only while it is unexpired and
 * not completed (pending, failed, or claimed by a holder whose claim has lapsed).
 */
export async function claimSession(
  db: Db,
  id: string,
  claimId: string,
  now: number,
  claimMs: number,
): Promise<ConnectSessionRow | undefined> {
  const [row] = await db
    .update(connectSessions)
    .set({ status: "claimed", claimId, claimedUntil: now + claimMs, updatedAt: now })
    .where(
      and(
        eq(connectSessions.id, id),
        gt(connectSessions.expiresAt, now),
        or(
          inArray(connectSessions.status, ["pending", "failed"]),
          and(eq(connectSessions.status, "claimed"), lt(connectSessions.claimedUntil, now)),
        ),
      ),
    )
    .returning();
  return row;
}

/** Marks the claimed session completed with its account: a statement for the account's own batch. */
export function completeSessionStatement(
  db: Db,
  id: string,
  claimId: string,
  accountId: string,
  platform: Platform,
  now: number,
): Statement {
  return db
    .update(connectSessions)
    .set({
      status: "completed",
      platform,
      accountId,
      errorCode: null,
      errorMessage: null,
      claimId: null,
      claimedUntil: null,
      completedAt: now,
      updatedAt: now,
    })
    .where(and(eq(connectSessions.id, id), eq(connectSessions.claimId, claimId)));
}

/**
 * Records why the session's last attempt failed. With `claimId`, only that claim's holder may; without,
 * only a session nobody holds (a failure before any claim, such as a refused start).
 */
export async function failSession(
  db: Db,
  id: string,
  error: { code: string; message: string; platform: Platform },
  now: number,
  claimId?: string,
) {
  const held = claimId
    ? eq(connectSessions.claimId, claimId)
    : inArray(connectSessions.status, ["pending", "failed"]);
  await db
    .update(connectSessions)
    .set({
      status: "failed",
      platform: error.platform,
      errorCode: error.code,
      errorMessage: error.message.slice(0, 500),
      claimId: null,
      claimedUntil: null,
      updatedAt: now,
    })
    .where(and(eq(connectSessions.id, id), held, sql`${connectSessions.status} <> 'completed'`));
}
