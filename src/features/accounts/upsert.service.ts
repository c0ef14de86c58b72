import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import type { Statement } from "../../db/coalesce";
import { type AccountRow, accounts, type WorkspaceRow } from "../../db/schema";
import { getSecretBox } from "../../lib/config";
import type { ConnectionType, Platform } from "../../lib/domain";
import { ApiError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { getModule, platformContext } from "../../platforms/catalogue";
import { ProviderError } from "../../platforms/http";
import { isFacebookLogin, selectedIgUserId } from "../../platforms/instagram";
import {
  listFacebookPages,
  listInstagramBusinessAccounts,
  reachesBusinessPages,
} from "../../platforms/pages/meta-pages";
import { grantsPlaylistRead } from "../../platforms/pages/youtube-playlists";
import { nextRefreshAt } from "../../platforms/schedule";
import { type Profile, refreshModelOf, type TokenSet } from "../../platforms/types";
import { findWorkspace } from "../admin/admin.repository";
import { accountLimitOf, platformLimitsOf } from "../admin/admin.service";
import { accountEvent, commitWithEvents } from "../webhooks/events";
import {
  countConnectedAccounts,
  findByPlatformUser,
  markSharedElsewhere,
  openAccountSecrets,
  sealAccountSecrets,
} from "./accounts.repository";
import { toAccount } from "./accounts.service";

// The account a connection produces (OAuth callback, bring-your-own token, credentials): the
// workspace's rules for a new account, and the one upsert every way of connecting goes through.

/** The reference contract's words for an account another workspace also holds. */
export const SHARED_ACCOUNT_WARNING =
  "This account is already connected in another workspace. Posts to this account from all connected workspaces share a combined publishing limit.";

export interface ConnectedAccount {
  account: AccountRow;
  warning?: string;
  /** Deliveries of the account.connected event, for their first attempt. */
  deliveryIds: string[];
}

/** The API key's workspace; gone means the key no longer authenticates. */
export async function loadWorkspace(db: Db, workspaceId: string): Promise<WorkspaceRow> {
  const workspace = await findWorkspace(db, workspaceId);
  if (!workspace) throw new ApiError("UNAUTHORIZED", "The workspace of this API key no longer exists");
  return workspace;
}

/** PLATFORM_RESTRICTED unless the workspace allows this platform. */
export function assertPlatformAllowed(workspace: WorkspaceRow, platform: Platform) {
  if (workspace.allowedPlatforms && !workspace.allowedPlatforms.includes(platform)) {
    throw new ApiError("PLATFORM_RESTRICTED", `${platform} is not permitted in this workspace`);
  }
}

/**
 * PLAN_LIMIT_EXCEEDED when one more account would pass the plan's limit, or, given a platform, that
 * platform's limit (the message names it). Both counts in one round trip.
 */
export async function assertPlanRoom(db: Db, workspace: WorkspaceRow, platform?: Platform) {
  const limit = accountLimitOf(workspace);
  const platformLimit = platform ? (platformLimitsOf(workspace)[platform] ?? null) : null;
  if (limit === null && platformLimit === null) return;
  const { total, onPlatform } = await countConnectedAccounts(db, workspace.id, platform);
  if (limit !== null && total >= limit) {
    throw new ApiError(
      "PLAN_LIMIT_EXCEEDED",
      `This workspace has reached its limit of ${limit} connected accounts on the ${workspace.plan} plan`,
    );
  }
  if (platformLimit !== null && onPlatform >= platformLimit) {
    throw new ApiError(
      "PLAN_LIMIT_EXCEEDED",
      `This workspace has reached its limit of ${platformLimit} connected ${platform} accounts on the ${workspace.plan} plan`,
    );
  }
}

/** What a reconnect stores for a Meta account whose Page is selected, in place of the grant's own. */
interface PageReselection {
  accessToken: string;
  extras: Record<string, unknown>;
  /** Columns over the grant's: the Page token's absent expiry, the Instagram account, or a cleared selection. */
  columns: Partial<AccountRow>;
  warning?: string;
}

/** Extras that belong to a selected Page (and, on Instagram, to its business account). */
const PAGE_EXTRAS = ["pageId", "pageName", "pageAccessToken", "userAccessToken"] as const;
const INSTAGRAM_PAGE_EXTRAS = [...PAGE_EXTRAS, "igUserId", "username"] as const;

const without = (extras: Record<string, unknown>, keys: readonly string[]) =>
  Object.fromEntries(Object.entries(extras).filter(([key]) => !keys.includes(key)));

const RESELECT_HINT = "select a Page with POST /v1/accounts/{id}/select-page";

/**
 * An OAuth reconnect of a Facebook account, or of Instagram through Facebook Login, whose Page is
 * selected: the fresh user token lists the Pages once and the selected Page's token, which does not
 * expire, stays the credential. A Page no longer listed clears the selection; a failed listing keeps
 * it with the user token as the credential. Null when none of this applies.
 */
async function reselectPage(
  env: Env,
  existing: AccountRow,
  input: UpsertInput,
  extras: Record<string, unknown>,
): Promise<PageReselection | null> {
  const { platform, tokens, now } = input;
  const selectedPageId = existing.selectedPageId;
  const meta = platform === "facebook" || (platform === "instagram" && isFacebookLogin(tokens.extras));
  if (!selectedPageId || !meta || input.connectionType !== "oauth") return null;
  const userToken = tokens.accessToken;
  const pageName = existing.selectedPageName ?? selectedPageId;
  // Instagram's columns name the business account chosen at select-page, not the Facebook user.
  const keptProfile =
    platform === "instagram"
      ? {
          username: existing.username,
          displayName: existing.displayName,
          avatarUrl: existing.avatarUrl,
          accountType: existing.accountType,
        }
      : {};
  const ctx = platformContext(env, platform, now, { requireClientCredentials: false });
  let found: {
    pageToken: string | null;
    columns: Partial<AccountRow>;
    extras: Record<string, unknown>;
  } | null;
  try {
    const businesses = reachesBusinessPages(tokens.scopes ?? existing.scopes);
    if (platform === "facebook") {
      const pages = await listFacebookPages(ctx, userToken, { businesses });
      const page = pages.find((p) => p.id === selectedPageId);
      found = page ? { pageToken: page.accessToken, columns: {}, extras: { pageId: page.id } } : null;
    } else {
      const igUserId = selectedIgUserId(extras);
      const ig = (await listInstagramBusinessAccounts(ctx, userToken, { businesses })).find(
        (a) => a.pageId === selectedPageId && (!igUserId || a.igUserId === igUserId),
      );
      found = ig
        ? {
            pageToken: ig.pageAccessToken,
            columns: {
              username: ig.username ? `@${ig.username}` : existing.username,
              displayName: ig.name || ig.username || existing.displayName,
              avatarUrl: ig.avatarUrl ?? existing.avatarUrl,
              accountType: "business",
            },
            extras: { pageId: ig.pageId, igUserId: ig.igUserId, username: ig.username },
          }
        : null;
    }
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    return {
      accessToken: userToken,
      extras,
      columns: keptProfile,
      warning: `Facebook did not answer the Pages of this login, so the token of the selected Page (${pageName}) could not be renewed; the account holds the user token, which expires in about 60 days, until you ${RESELECT_HINT}.`,
    };
  }
  if (!found) {
    return {
      accessToken: userToken,
      extras: without(extras, platform === "instagram" ? INSTAGRAM_PAGE_EXTRAS : PAGE_EXTRAS),
      columns: { selectedPageId: null, selectedPageName: null },
      warning: `The selected Page (${pageName}) is no longer among the Pages this Facebook login manages, so the selection was cleared; the account holds the user token, which expires in about 60 days, until you ${RESELECT_HINT}.`,
    };
  }
  if (!found.pageToken) {
    // Graph sends no Page token when the user may no longer act for the Page (as at select-page).
    return {
      accessToken: userToken,
      extras: { ...without(extras, ["userAccessToken"]), ...found.extras, pageAccessToken: null },
      columns: { ...keptProfile, ...found.columns },
      warning: `Facebook sent no token for the selected Page (${pageName}): this login may no longer act for it, so the account holds the user token, which expires in about 60 days.`,
    };
  }
  return {
    accessToken: found.pageToken,
    extras: { ...extras, ...found.extras, pageAccessToken: found.pageToken, userAccessToken: userToken },
    columns: { ...found.columns, tokenExpiresAt: null, expiringNotifiedAt: null },
  };
}

export interface UpsertInput {
  platform: Platform;
  tokens: TokenSet;
  profile: Profile;
  connectionType: ConnectionType;
  now: number;
  name?: string | null;
  metadata?: Record<string, unknown> | null;
  /** The customer's id for the person connecting (hosted connect); kept when absent. */
  endUserId?: string;
  /** Statements committed in the same batch as the account, given its id (a hosted session's completion). */
  alsoCommit?: (accountId: string) => Statement[];
}

/**
 * Creates or refreshes the workspace's row for this platform user. A reconnect refreshes tokens,
 * resets status to active, clears errors, and never replaces a stored refresh token with nothing.
 */
export async function upsertConnectedAccount(
  env: Env,
  db: Db,
  workspaceId: string,
  input: UpsertInput,
  attempt = 0,
): Promise<ConnectedAccount> {
  const { platform, tokens, profile, now } = input;
  const module = getModule(platform);
  const workspace = await loadWorkspace(db, workspaceId);
  assertPlatformAllowed(workspace, platform);
  const { existing, sharedElsewhere } = await findByPlatformUser(
    db,
    workspaceId,
    platform,
    profile.platformUserId,
  );
  const box = await getSecretBox(env);
  const schedule = (
    refreshToken: string | null,
    extras: Record<string, unknown> | null | undefined,
    expiresAt = tokens.expiresAt,
  ) =>
    nextRefreshAt(refreshModelOf(module, extras), {
      expiresAt,
      issuedAt: now,
      hasRefreshToken: Boolean(refreshToken),
    });
  const grantFields = {
    username: profile.username,
    displayName: profile.displayName,
    avatarUrl: profile.avatarUrl,
    accountType: profile.accountType,
    status: "active" as const,
    connectionType: input.connectionType,
    tokenExpiresAt: tokens.expiresAt,
    refreshTokenExpiresAt: tokens.refreshTokenExpiresAt ?? null,
    tokenIssuedAt: now,
    lastRefreshedAt: null,
    refreshFailures: 0,
    expiringNotifiedAt: null,
    lastErrorCode: null,
    lastErrorMessage: null,
    lastErrorAt: null,
    isSharedAccount: sharedElsewhere,
    // A grant that includes the playlist read scope ends the need to reconnect for playlists.
    ...(platform === "youtube" && grantsPlaylistRead(tokens.scopes ?? [])
      ? { needsPlaylistReauth: false }
      : {}),
    disconnectedAt: null,
    updatedAt: now,
    ...(profile.page ? { selectedPageId: profile.page.id, selectedPageName: profile.page.name } : {}),
    ...(input.endUserId !== undefined ? { endUserId: input.endUserId } : {}),
  };
  const also = input.alsoCommit ?? (() => []);

  let row: AccountRow | undefined;
  let deliveries: string[] = [];
  let pageWarning: string | undefined;
  if (existing) {
    // An archived account counts again once reconnected, so it needs the room a new one would.
    if (existing.status === "disconnected") await assertPlanRoom(db, workspace, platform);
    const previous =
      existing.accessTokenEnc || existing.refreshTokenEnc || existing.extrasEnc
        ? await openAccountSecrets(box, existing)
        : null;
    const refreshToken = tokens.refreshToken || previous?.refreshToken || null;
    const merged = { ...previous?.extras, ...tokens.extras };
    const reselected = await reselectPage(env, existing, input, merged);
    pageWarning = reselected?.warning;
    const extras = reselected?.extras ?? merged;
    const columns = { ...grantFields, ...reselected?.columns };
    const secrets = await sealAccountSecrets(box, existing.id, {
      accessToken: reselected?.accessToken ?? tokens.accessToken,
      refreshToken,
      extras,
    });
    const scopes = tokens.scopes ?? existing.scopes;
    const event = accountEvent("account.connected", { ...existing, ...columns });
    const { results, deliveryIds } = await commitWithEvents(
      db,
      [
        db
          .update(accounts)
          .set({
            ...columns,
            ...secrets,
            scopes,
            refreshTokenExpiresAt: tokens.refreshToken
              ? (tokens.refreshTokenExpiresAt ?? null)
              : existing.refreshTokenExpiresAt,
            nextRefreshAt: schedule(refreshToken, extras, columns.tokenExpiresAt),
            refreshLeaseId: null,
            refreshLeaseUntil: null,
            ...(input.name !== undefined ? { name: input.name } : {}),
            ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
          })
          .where(eq(accounts.id, existing.id))
          .returning(),
        markSharedElsewhere(db, workspaceId, platform, profile.platformUserId, now),
        ...also(existing.id),
      ],
      [event],
      now,
    );
    row = (results[0] as AccountRow[])[0];
    deliveries = deliveryIds;
  } else {
    await assertPlanRoom(db, workspace, platform);
    const id = newId("acc", now);
    const secrets = await sealAccountSecrets(box, id, {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken ?? null,
      extras: tokens.extras ?? null,
    });
    const values = {
      id,
      workspaceId,
      platform,
      platformUserId: profile.platformUserId,
      ...grantFields,
      ...secrets,
      name: input.name ?? null,
      metadata: input.metadata ?? null,
      scopes: tokens.scopes ?? [],
      nextRefreshAt: schedule(tokens.refreshToken ?? null, tokens.extras),
      connectedAt: now,
    };
    try {
      const { results, deliveryIds } = await commitWithEvents(
        db,
        [
          db.insert(accounts).values(values).returning(),
          markSharedElsewhere(db, workspaceId, platform, profile.platformUserId, now),
          ...also(id),
        ],
        [accountEvent("account.connected", values)],
        now,
      );
      row = (results[0] as AccountRow[])[0];
      deliveries = deliveryIds;
    } catch (err) {
      // Another connect of the same platform user won the insert (the batch, event included, rolled
      // back): refresh that row instead.
      if (attempt === 0 && /UNIQUE constraint failed/i.test(String((err as Error)?.message ?? err))) {
        return upsertConnectedAccount(env, db, workspaceId, input, 1);
      }
      throw err;
    }
  }
  if (!row) throw new ApiError("NOT_FOUND", "Account not found");
  const warning = [sharedElsewhere ? SHARED_ACCOUNT_WARNING : undefined, pageWarning]
    .filter(Boolean)
    .join(" ");
  return { account: row, deliveryIds: deliveries, ...(warning ? { warning } : {}) };
}

export const toConnected = ({ account, warning }: ConnectedAccount) => ({
  account: toAccount(account),
  ...(warning ? { warning } : {}),
});
