import { and, eq, ne } from "drizzle-orm";
import type { Db } from "../../db/client";
import { accounts } from "../../db/schema";

/** Records whether the account must be reconnected to read playlists (no write when already so). */
export async function setNeedsPlaylistReauth(
  db: Db,
  workspaceId: string,
  accountId: string,
  value: boolean,
  now: number,
): Promise<void> {
  await db
    .update(accounts)
    .set({ needsPlaylistReauth: value, updatedAt: now })
    .where(
      and(
        eq(accounts.workspaceId, workspaceId),
        eq(accounts.id, accountId),
        ne(accounts.needsPlaylistReauth, value),
      ),
    );
}
