import { and, eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { users } from "../../db/schema";

/** Stores the user's GA4 client id; false when the user is not (or no longer) in the workspace. */
export async function setGa4ClientId(
  db: Db,
  workspaceId: string,
  userId: string,
  clientId: string,
  now: number,
): Promise<boolean> {
  const rows = await db
    .update(users)
    .set({ ga4ClientId: clientId, updatedAt: now })
    .where(and(eq(users.workspaceId, workspaceId), eq(users.id, userId)))
    .returning({ id: users.id });
  return rows.length === 1;
}
