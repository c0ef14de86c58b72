import type { Db } from "../../db/client";
import type { AccountRow } from "../../db/schema";
import { getSecretBox } from "../../lib/config";
import { MINUTE } from "../../lib/time";
import type { ContextOptions } from "../../platforms/catalogue";
import { getModule } from "../../platforms/catalogue";
import { type Grant, grantVariant, type PlatformContext } from "../../platforms/types";
import { grantInstance, resolveContext } from "../connect/platform-apps";
import type { ServiceContext } from "../context";
import { markUsed, openGrant } from "./accounts.repository";

/** lastUsedAt moves at most this often, so reads within it cost no write. */
export const LAST_USED_RESOLUTION_MS = MINUTE;

export interface SessionOptions extends ContextOptions {
  /** False when the tokens are read for our own upkeep (a revoke), not for the customer's use. */
  use?: boolean;
}

/**
 * An account's platform session: its decrypted grant and the context to use it in (the account's
 * own instance; no app credentials needed, since the call is made with the customer's token).
 * Opened for use, it sets the account's lastUsedAt unless that is under a minute old.
 */
export async function openSession(
  { env, db, now }: ServiceContext,
  row: AccountRow,
  { use = true, ...options }: SessionOptions = {},
): Promise<{ grant: Grant; ctx: PlatformContext }> {
  const grant = await openGrant(await getSecretBox(env), row);
  const [ctx] = await Promise.all([
    resolveContext(env, db, row.platform, now, grantInstance(grant), {
      requireClientCredentials: false,
      // A variant with its own app (TikTok Business) answers at that app's endpoints.
      variant: grantVariant(getModule(row.platform), grant.extras),
      ...options,
    }),
    use ? recordUse(db, row, now) : undefined,
  ]);
  return { grant, ctx };
}

/** One conditional write a minute at most; a failure to record it never fails the customer's call. */
async function recordUse(db: Db, row: Pick<AccountRow, "id" | "lastUsedAt">, now: number) {
  const since = now - LAST_USED_RESOLUTION_MS;
  if (row.lastUsedAt !== null && row.lastUsedAt > since) return;
  try {
    await markUsed(db, row.id, now, since);
  } catch (err) {
    const reason = err instanceof Error ? err.message : "unknown";
    console.warn(JSON.stringify({ level: "warn", event: "last_used_failed", accountId: row.id, reason }));
  }
}
