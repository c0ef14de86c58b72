import type { AccountRow } from "../../db/schema";
import { getSecretBox } from "../../lib/config";
import type { ContextOptions } from "../../platforms/catalogue";
import type { Grant, PlatformContext } from "../../platforms/types";
import { grantInstance, resolveContext } from "../connect/platform-apps";
import type { ServiceContext } from "../context";
import { openGrant } from "./accounts.repository";

/**
 * An account's platform session: its decrypted grant and the context to use it in (the account's
 * own instance; no app credentials needed, since the call is made with the customer's token).
 */
export async function openSession(
  { env, db, now }: ServiceContext,
  row: AccountRow,
  options: ContextOptions = {},
): Promise<{ grant: Grant; ctx: PlatformContext }> {
  const grant = await openGrant(await getSecretBox(env), row);
  const ctx = await resolveContext(env, db, row.platform, now, grantInstance(grant), {
    requireClientCredentials: false,
    ...options,
  });
  return { grant, ctx };
}
