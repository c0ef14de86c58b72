import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { createDb } from "../../src/db/client";
import { type AccountRow, accounts } from "../../src/db/schema";
import { openAccountSecrets } from "../../src/features/accounts/accounts.repository";
import { getSecretBox } from "../../src/lib/config";

/** The account's row as D1 stores it (snake_case columns), or null. */
export const rowOf = (id: string) =>
  env.DB.prepare("SELECT * FROM accounts WHERE id = ?").bind(id).first<Record<string, unknown>>();

/** The account's row as drizzle reads it (an AccountRow); the account must exist. */
export const accountRowOf = async (id: string) =>
  (await createDb(env.DB).select().from(accounts).where(eq(accounts.id, id)))[0] as AccountRow;

/** The account's stored secrets, decrypted the way the Worker does; the account must exist. */
export async function secretsOf(id: string) {
  const row = await rowOf(id);
  if (!row) throw new Error(`no account ${id}`);
  return openAccountSecrets(await getSecretBox(env), {
    id,
    accessTokenEnc: row.access_token_enc as string | null,
    refreshTokenEnc: row.refresh_token_enc as string | null,
    extrasEnc: row.extras_enc as string | null,
  });
}

/** The account's decrypted extras ({} when it has none). */
export const extrasOf = async (id: string) => (await secretsOf(id)).extras ?? {};
