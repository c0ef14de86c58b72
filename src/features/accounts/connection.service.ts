import type { AccountRow } from "../../db/schema";
import { getSecretBox } from "../../lib/config";
import type { Platform } from "../../lib/domain";
import { ApiError } from "../../lib/errors";
import { SECOND } from "../../lib/time";
import { getModule } from "../../platforms/catalogue";
import { providerFailure } from "../../platforms/failure";
import { ProviderError } from "../../platforms/http";
import {
  type CredentialsInput,
  grantOf,
  grantVariant,
  type Profile,
  type TokenSet,
} from "../../platforms/types";
import { instanceOrigin, resolveContext } from "../connect/platform-apps";
import type { ServiceContext } from "../context";
import { accountEvent, commitWithEvents } from "../webhooks/events";
import { disconnectAccount, eraseAccount, findAccount, openAccountSecrets } from "./accounts.repository";
import { forgetPendingGrant } from "./pending-grants";
import {
  newLeaseId,
  type RefreshOptions,
  type RefreshOutcome,
  refreshLeased,
  takeRefreshLease,
} from "./refresh.service";
import { withRefusals } from "./refusal.service";
import { openSession } from "./session";
import { type ConnectedAccount, type UpsertInput, upsertConnectedAccount } from "./upsert.service";

const notFound = () => new ApiError("NOT_FOUND", "Account not found");
/** How long POST …/refresh waits for a refresh already in flight elsewhere. */
const REFRESH_WAIT_MS = 15 * SECOND;
/** A refresh this recent (by cron or another caller) answers a manual one instead of spending the token again. */
export const JUST_REFRESHED_MS = 30 * SECOND;
const POLL_MS = 50;

/**
 * POST …/refresh: refresh now through the cron's code. A refresh already running is waited for and
 * answered, and so is one finished in the last JUST_REFRESHED_MS, so hammering the endpoint cannot
 * spend a rotating refresh token over and over.
 */
export async function refreshNow(
  { env, db, now: requestedAt }: ServiceContext,
  workspaceId: string,
  accountId: string,
  options: RefreshOptions = {},
): Promise<RefreshOutcome> {
  const account = await findAccount(db, workspaceId, accountId);
  if (!account) throw notFound();
  if (account.status === "disconnected")
    throw new ApiError("REFRESH_FAILED", "The account is disconnected; reconnect it");
  const leaseId = newLeaseId();
  const recent = requestedAt - JUST_REFRESHED_MS;
  for (;;) {
    const now = Date.now();
    const leased = await takeRefreshLease(db, account.id, leaseId, now);
    if (leased) return refreshLeased({ env, db, now }, leased, { leaseId, requestedAt: recent }, options);
    // Someone else holds the lease: wait for their result rather than spend the refresh token twice.
    const current = await findAccount(db, workspaceId, accountId);
    if (!current) throw notFound();
    if (current.lastRefreshedAt !== null && current.lastRefreshedAt >= recent)
      return { kind: "already-refreshed", account: current };
    if (
      current.refreshLeaseUntil === null &&
      current.lastErrorAt !== null &&
      current.lastErrorAt >= requestedAt
    ) {
      return current.status === "active"
        ? { kind: "already-refreshed", account: current }
        : {
            kind: "refused",
            account: current,
            error: new ProviderError("refused", current.lastErrorMessage ?? "Refresh refused"),
          };
    }
    if (now - requestedAt > REFRESH_WAIT_MS)
      throw new ApiError(
        "REFRESH_FAILED",
        "Another refresh of this account is still running; try again shortly",
      );
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * POST …/test: the platform's who-am-I call with the stored token. A refusal breaks the account
 * like a refused refresh (recordRefusal); deliveryIds are its event's, for their first attempt.
 */
export async function testConnection(
  { env, db, now }: ServiceContext,
  workspaceId: string,
  accountId: string,
  deliver?: (deliveryIds: string[]) => void,
) {
  const row = await findAccount(db, workspaceId, accountId);
  if (!row) throw notFound();
  if (row.status === "disconnected" || !row.accessTokenEnc) {
    return { success: false, message: "The account is disconnected; reconnect it" };
  }
  try {
    const { grant, ctx } = await openSession({ env, db, now }, row);
    const profile = await withRefusals(
      db,
      row,
      now,
      () => getModule(row.platform).profile(ctx, grant),
      deliver,
    );
    return {
      success: true,
      message: "Connection verified",
      details: {
        platformUserId: profile.platformUserId,
        username: profile.username,
        displayName: profile.displayName,
      },
    };
  } catch (err) {
    if (err instanceof ProviderError) return { success: false, message: err.message };
    throw err;
  }
}

/** Revokes the account's grant at the platform where it can; best effort, a failure only logged. */
async function revokeQuietly(service: ServiceContext, row: AccountRow) {
  const module = getModule(row.platform);
  if (!row.accessTokenEnc || !module.revoke) return;
  try {
    const { grant, ctx } = await openSession(service, row, { use: false });
    await module.revoke(ctx, grant);
  } catch (err) {
    const reason = err instanceof Error ? err.message : "unknown";
    console.warn(
      JSON.stringify({
        level: "warn",
        event: "revoke_failed",
        accountId: row.id,
        platform: row.platform,
        reason,
      }),
    );
  }
}

/** DELETE: revoke at the platform where it can (best effort), then wipe credentials and archive. */
export async function disconnect({ env, db, now }: ServiceContext, workspaceId: string, accountId: string) {
  const row = await findAccount(db, workspaceId, accountId);
  if (!row) throw notFound();
  await revokeQuietly({ env, db, now }, row);
  const events =
    row.status === "disconnected"
      ? []
      : [accountEvent("account.disconnected", { ...row, status: "disconnected" })];
  const { results, deliveryIds } = await commitWithEvents(
    db,
    [disconnectAccount(db, workspaceId, accountId, now)],
    events,
    now,
  );
  if ((results[0] as AccountRow[]).length === 0) throw notFound();
  await forgetPendingGrant(env, row);
  return deliveryIds;
}

/**
 * DELETE ?erase=true: revoke at the platform where it can (best effort), then remove the account and
 * everything kept about it (eraseAccount) for good. No event is sent: it would carry the account again.
 */
export async function erase(service: ServiceContext, workspaceId: string, accountId: string) {
  const row = await findAccount(service.db, workspaceId, accountId);
  if (!row) throw notFound();
  await revokeQuietly(service, row);
  const results = await eraseAccount(service.db, workspaceId, accountId);
  if (results[3].length === 0) throw notFound();
  await forgetPendingGrant(service.env, row);
}

export interface CredentialsConnect {
  platform: Platform;
  platformAccountId?: string;
  credentials: CredentialsInput;
  name?: string | null;
  metadata?: Record<string, unknown> | null;
  /** Hosted connect: the end user, and the session's completion committed with the account. */
  endUserId?: string;
  alsoCommit?: UpsertInput["alsoCommit"];
}

/** The platform's verdict on credentials: tokens and profile, or the one error (nothing stored). */
async function verifyCredentials(
  { env, db, now }: ServiceContext,
  platform: Platform,
  credentials: CredentialsInput,
  platformAccountId?: string,
): Promise<{ tokens: TokenSet; profile: Profile; connectionType: "credentials" | "byok" }> {
  const module = getModule(platform);
  const instance = instanceOrigin(platform, credentials.extras?.instance, "credentials.instance");
  if (instance) credentials.extras = { ...credentials.extras, instance };
  const ctx = await resolveContext(env, db, platform, now, instance, {
    requireClientCredentials: false,
    variant: grantVariant(module, credentials.extras),
  });
  try {
    if (module.connectWithCredentials) {
      const verified = await module.connectWithCredentials(ctx, { ...credentials, platformAccountId });
      return { ...verified, connectionType: "credentials" };
    }
    const { accessToken, refreshToken, expiresAt, extras } = credentials;
    if (!accessToken) {
      throw new ApiError("INVALID_PARAM", `${module.name} needs credentials.accessToken`, [
        { field: "credentials.accessToken", message: "Required" },
      ]);
    }
    const tokens = { accessToken, refreshToken: refreshToken ?? null, expiresAt: expiresAt ?? null, extras };
    const profile = await module.profile(ctx, grantOf(tokens, now));
    return { tokens, profile, connectionType: "byok" };
  } catch (err) {
    if (err instanceof ProviderError && err.kind !== "transient") {
      throw new ApiError("INVALID_PARAM", `${module.name} rejected these credentials: ${err.message}`, [
        { field: "credentials", message: "Rejected by the platform" },
      ]);
    }
    throw providerFailure(err);
  }
}

/** POST /v1/accounts: a connection without OAuth, verified against the platform before anything is stored. */
export async function connectWithCredentials(
  service: ServiceContext,
  workspaceId: string,
  input: CredentialsConnect,
): Promise<ConnectedAccount> {
  const { tokens, profile, connectionType } = await verifyCredentials(
    service,
    input.platform,
    input.credentials,
    input.platformAccountId,
  );
  if (input.platformAccountId && input.platformAccountId !== profile.platformUserId) {
    throw new ApiError(
      "INVALID_PARAM",
      "platformAccountId does not match the account these credentials belong to",
      [{ field: "platformAccountId", message: `The credentials belong to ${profile.platformUserId}` }],
    );
  }
  return upsertConnectedAccount(service.env, service.db, workspaceId, {
    platform: input.platform,
    tokens,
    profile,
    connectionType,
    now: service.now,
    name: input.name,
    metadata: input.metadata,
    endUserId: input.endUserId,
    alsoCommit: input.alsoCommit,
  });
}

/** Ids kept with an account's credentials that a new token or password goes on using when not given. */
const KEPT_EXTRAS = [
  "pageId",
  "igUserId",
  "authorUrn",
  "phoneNumberId",
  "wabaId",
  "chatId",
  "instance",
  "oauthVersion",
] as const;

/**
 * POST /v1/accounts/{id}/credentials: new credentials for an account connected without OAuth,
 * verified against the platform first (they must belong to the same platform user), then stored in
 * the one upsert of every connect: status active, errors cleared, account.connected sent. A refusal
 * or an outage changes nothing.
 */
export async function updateCredentials(
  service: ServiceContext,
  workspaceId: string,
  accountId: string,
  given: CredentialsInput,
): Promise<ConnectedAccount> {
  const row = await findAccount(service.db, workspaceId, accountId);
  if (!row) throw notFound();
  if (row.connectionType === "oauth") {
    throw new ApiError(
      "INVALID_PARAM",
      "This account was connected through OAuth: reconnect it (POST /v1/accounts/{id}/reconnect) instead",
      [{ field: "id", message: "Not a credentials or bring-your-own-token account" }],
    );
  }
  const stored = row.extrasEnc
    ? (await openAccountSecrets(await getSecretBox(service.env), row)).extras
    : null;
  const kept = Object.fromEntries(
    KEPT_EXTRAS.flatMap((key) => (stored?.[key] === undefined ? [] : [[key, stored[key]]])),
  );
  const credentials: CredentialsInput = {
    ...given,
    identifier: given.identifier ?? (given.password !== undefined ? row.platformUserId : undefined),
    extras: { ...kept, ...given.extras },
  };
  const { tokens, profile, connectionType } = await verifyCredentials(service, row.platform, credentials);
  if (profile.platformUserId !== row.platformUserId) {
    throw new ApiError("INVALID_PARAM", "These credentials belong to another account on the platform", [
      {
        field: "credentials",
        message: `They belong to ${profile.platformUserId}, not ${row.platformUserId}`,
      },
    ]);
  }
  return upsertConnectedAccount(service.env, service.db, workspaceId, {
    platform: row.platform,
    tokens,
    profile,
    connectionType,
    now: service.now,
  });
}
