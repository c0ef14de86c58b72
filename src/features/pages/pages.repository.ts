import { and, type Column, eq, isNull, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { type AccountRow, accounts, type NewAccountRow } from "../../db/schema";

export interface PageSelection {
  selectedPageId: string;
  selectedPageName: string | null;
  username?: string | null;
  displayName?: string | null;
  avatarUrl?: string | null;
  accountType?: string | null;
  /** Null when a Page token that does not expire becomes the credential. */
  tokenExpiresAt?: number | null;
  expiringNotifiedAt?: number | null;
  /** Re-sealed secrets when the selection stores a page token. */
  secrets?: Pick<NewAccountRow, "accessTokenEnc" | "refreshTokenEnc" | "extrasEnc" | "keyVersion">;
}

const sameValue = (column: Column, value: string | null): SQL =>
  value === null ? isNull(column) : eq(column, value);

/**
 * Stores a page selection. With `unchanged`, only if the row's ciphertexts are still those the caller
 * read (a reconnect in between must not be overwritten with the older token); undefined otherwise.
 */
export async function saveSelectedPage(
  db: Db,
  workspaceId: string,
  accountId: string,
  selection: PageSelection,
  unchanged: Pick<AccountRow, "accessTokenEnc" | "extrasEnc"> | undefined,
  now: number,
): Promise<AccountRow | undefined> {
  const { secrets, ...columns } = selection;
  const [row] = await db
    .update(accounts)
    .set({ ...columns, ...secrets, updatedAt: now })
    .where(
      and(
        eq(accounts.workspaceId, workspaceId),
        eq(accounts.id, accountId),
        unchanged ? sameValue(accounts.accessTokenEnc, unchanged.accessTokenEnc) : undefined,
        unchanged ? sameValue(accounts.extrasEnc, unchanged.extrasEnc) : undefined,
      ),
    )
    .returning();
  return row;
}
