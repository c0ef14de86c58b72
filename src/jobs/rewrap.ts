import { and, eq, inArray } from "drizzle-orm";
import { createDb } from "../db/client";
import { accounts, platformApps, webhookEndpoints } from "../db/schema";
import { openAccountSecrets, sealAccountSecrets } from "../features/accounts/accounts.repository";
import { appSecretContext } from "../features/connect/platform-apps";
import { secretContext as endpointSecret } from "../features/webhooks/delivery.service";
import { getSecretBox } from "../lib/config";
import { metered } from "./budget";

/** Rows re-encrypted per table per run. */
export const REWRAP_BATCH = 50;

/**
 * Re-encrypts secrets still under an old key version with the current one, a bounded batch per
 * run, so an old key can be dropped once nothing uses it. Each row is written only if its version
 * did not change meanwhile (a refresh may have rewritten it already).
 */
export async function rewrapSecrets(rawEnv: Env, now: number) {
  const { env, budget } = metered(rawEnv);
  const db = createDb(env.DB);
  const box = await getSecretBox(env);
  const old = box.oldVersions;
  if (old.length === 0) return { accounts: 0, endpoints: 0, apps: 0 };

  const staleAccounts = await db
    .select()
    .from(accounts)
    .where(inArray(accounts.keyVersion, old))
    .limit(REWRAP_BATCH);
  for (const row of staleAccounts) {
    if (budget.left() < 2) break; // the rest next minute, within the invocation's subrequests
    const sealed = await sealAccountSecrets(box, row.id, await openAccountSecrets(box, row));
    await db
      .update(accounts)
      .set(sealed)
      .where(and(eq(accounts.id, row.id), eq(accounts.keyVersion, row.keyVersion as string)));
  }

  const staleEndpoints = await db
    .select()
    .from(webhookEndpoints)
    .where(inArray(webhookEndpoints.keyVersion, old))
    .limit(REWRAP_BATCH);
  for (const row of staleEndpoints) {
    if (budget.left() < 2) break; // the rest next minute, within the invocation's subrequests
    const secret = await box.decrypt(row.secretEnc, endpointSecret(row.id, "secret"));
    const previous = row.previousSecretEnc
      ? await box.decrypt(row.previousSecretEnc, endpointSecret(row.id, "previous_secret"))
      : null;
    await db
      .update(webhookEndpoints)
      .set({
        secretEnc: await box.encrypt(secret, endpointSecret(row.id, "secret")),
        previousSecretEnc:
          previous === null ? null : await box.encrypt(previous, endpointSecret(row.id, "previous_secret")),
        keyVersion: box.currentVersion,
        updatedAt: now,
      })
      .where(and(eq(webhookEndpoints.id, row.id), eq(webhookEndpoints.keyVersion, row.keyVersion)));
  }

  const staleApps = await db
    .select()
    .from(platformApps)
    .where(inArray(platformApps.keyVersion, old))
    .limit(REWRAP_BATCH);
  for (const row of staleApps) {
    if (budget.left() < 2) break;
    const context = appSecretContext(row.platform, row.instance);
    const secret = await box.decrypt(row.clientSecretEnc, context);
    await db
      .update(platformApps)
      .set({ clientSecretEnc: await box.encrypt(secret, context), keyVersion: box.currentVersion })
      .where(
        and(
          eq(platformApps.platform, row.platform),
          eq(platformApps.instance, row.instance),
          eq(platformApps.keyVersion, row.keyVersion),
        ),
      );
  }
  return { accounts: staleAccounts.length, endpoints: staleEndpoints.length, apps: staleApps.length };
}
