import { and, asc, desc, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { type ApiKeyRow, apiKeys, deadLetters, users, type WorkspaceRow, workspaces } from "../../db/schema";

export async function createWorkspace(
  db: Db,
  workspace: typeof workspaces.$inferInsert,
  owner: typeof users.$inferInsert,
): Promise<WorkspaceRow> {
  const [[row]] = await db.batch([
    db.insert(workspaces).values(workspace).returning(),
    db.insert(users).values(owner),
  ]);
  return row as WorkspaceRow;
}

export async function findWorkspace(db: Db, id: string) {
  const [row] = await db.select().from(workspaces).where(eq(workspaces.id, id)).limit(1);
  return row;
}

/** The workspace's first user, who holds keys issued without a user. */
export async function findOwnerUserId(db: Db, workspaceId: string): Promise<string | null> {
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(eq(users.workspaceId, workspaceId))
    .orderBy(asc(users.id))
    .limit(1);
  return row?.id ?? null;
}

export async function findUser(db: Db, workspaceId: string, userId: string) {
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.workspaceId, workspaceId), eq(users.id, userId)))
    .limit(1);
  return row;
}

export async function updateWorkspace(
  db: Db,
  id: string,
  changes: Partial<typeof workspaces.$inferInsert>,
): Promise<WorkspaceRow | undefined> {
  const [row] = await db.update(workspaces).set(changes).where(eq(workspaces.id, id)).returning();
  return row;
}

export async function insertKey(db: Db, key: typeof apiKeys.$inferInsert): Promise<ApiKeyRow> {
  const [row] = await db.insert(apiKeys).values(key).returning();
  return row as ApiKeyRow;
}

export function listKeys(db: Db, workspaceId: string) {
  return db.select().from(apiKeys).where(eq(apiKeys.workspaceId, workspaceId)).orderBy(desc(apiKeys.id));
}

/** Revokes a key once; answers the row, already revoked or not, or undefined when unknown. */
export async function revokeKey(db: Db, id: string, now: number): Promise<ApiKeyRow | undefined> {
  const [revoked] = await db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning();
  if (revoked) return revoked;
  const [existing] = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
  return existing;
}

/** The most recent dead letters and how many there are, in one round trip. */
export async function deadLetterPage(db: Db, limit: number) {
  const [recent, [total]] = await db.batch([
    db.select().from(deadLetters).orderBy(desc(deadLetters.deadAt), desc(deadLetters.id)).limit(limit),
    db.select({ n: sql<number>`count(*)` }).from(deadLetters),
  ]);
  return { recent, total: total?.n ?? 0 };
}
