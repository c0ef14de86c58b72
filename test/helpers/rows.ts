import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { createDb } from "../../src/db/client";
import { type AccountRow, accounts } from "../../src/db/schema";
import { openAccountSecrets, sealAccountSecrets } from "../../src/features/accounts/accounts.repository";
import { getSecretBox } from "../../src/lib/config";
import { newId } from "../../src/lib/ids";
import { HOUR, MINUTE } from "../../src/lib/time";
import type { FakePlatform } from "./fake-provider";

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

/** `count` X accounts in the workspace whose grants the fake knows, all due for refresh at `dueAt`. */
export async function dueTwitterAccounts(
  fake: FakePlatform,
  workspaceId: string,
  count: number,
  dueAt: number,
): Promise<string[]> {
  const box = await getSecretBox(env);
  const db = createDb(env.DB);
  const ids: string[] = [];
  const rows = [];
  for (let i = 0; i < count; i++) {
    const grant = fake.newGrant({ id: `due-${i}-${crypto.randomUUID()}`, username: `d${i}`, name: "D" });
    const id = newId("acc");
    ids.push(id);
    rows.push({
      id,
      workspaceId,
      platform: "twitter" as const,
      platformUserId: grant.profile.id,
      status: "active" as const,
      connectionType: "oauth" as const,
      ...(await sealAccountSecrets(box, id, {
        accessToken: grant.accessToken,
        refreshToken: grant.refreshToken,
        extras: null,
      })),
      tokenExpiresAt: dueAt + 5 * MINUTE,
      tokenIssuedAt: dueAt - 2 * HOUR,
      nextRefreshAt: dueAt,
      connectedAt: dueAt - 2 * HOUR,
      updatedAt: dueAt - 2 * HOUR,
    });
  }
  // Wide rows (D1 binds at most 100 parameters per statement): one per statement, many per batch.
  const statements = rows.map((row) => db.insert(accounts).values(row));
  for (let i = 0; i < statements.length; i += 50)
    await db.batch(statements.slice(i, i + 50) as [never, ...never[]]);
  return ids;
}
