import type { AccountRow } from "../../db/schema";
import { DAY, iso } from "../../lib/time";
import type { AccountView } from "./accounts.repository";
import type { Account, AccountHealth, HealthLevel } from "./accounts.schemas";

/** The public shape of an account: never a token, refresh token or extra. */
export function toAccount(row: AccountView): Account {
  return {
    id: row.id,
    platform: row.platform,
    platformUserId: row.platformUserId,
    username: row.username,
    displayName: row.displayName,
    avatarUrl: row.avatarUrl,
    accountType: row.accountType,
    status: row.status,
    connectionType: row.connectionType,
    name: row.name,
    metadata: row.metadata,
    permissions: row.scopes,
    tokenExpiresAt: iso(row.tokenExpiresAt),
    lastRefreshedAt: iso(row.lastRefreshedAt),
    needsPlaylistReauth: row.needsPlaylistReauth,
    isSharedAccount: row.isSharedAccount,
    selectedPage: row.selectedPageId ? { id: row.selectedPageId, name: row.selectedPageName } : null,
    endUserId: row.endUserId,
    usage: row.usage,
    lastUsedAt: iso(row.lastUsedAt),
    error: accountError(row),
    connectedAt: iso(row.connectedAt),
    disconnectedAt: iso(row.disconnectedAt),
    updatedAt: iso(row.updatedAt),
  };
}

function accountError(row: Pick<AccountRow, "lastErrorCode" | "lastErrorMessage" | "lastErrorAt">) {
  if (!row.lastErrorCode || row.lastErrorAt === null) return null;
  return { code: row.lastErrorCode, message: row.lastErrorMessage ?? "", at: iso(row.lastErrorAt) };
}

function daysUntil(ms: number, now: number): number {
  return Math.max(1, Math.ceil((ms - now) / DAY));
}

/** Health of one account from its stored fields; `level` comes from the shared SQL definition. */
export function toAccountHealth(row: AccountRow, level: HealthLevel, now: number): AccountHealth {
  const expired = row.tokenExpiresAt !== null && row.tokenExpiresAt <= now;
  const autoRefresh = row.nextRefreshAt !== null;
  const broken = row.status === "error" || row.status === "expired";
  const needsReconnect = broken || (expired && !autoRefresh);
  const recommendations: string[] = [];

  if (row.status === "suspended") {
    recommendations.push("The platform suspended this account. Resolve it on the platform, then reconnect.");
  } else if (needsReconnect) {
    const reason = row.lastErrorMessage ? `: ${row.lastErrorMessage.replace(/[.\s]+$/, "")}` : "";
    recommendations.push(`The connection is broken${reason}. Reconnect the account.`);
  } else if (expired) {
    recommendations.push("Token has expired; an automatic refresh is scheduled.");
  } else if (!autoRefresh && row.tokenExpiresAt !== null && level === "warning") {
    recommendations.push(
      `Token expires in ${daysUntil(row.tokenExpiresAt, now)} days. Consider reconnecting.`,
    );
  }
  if (!broken && row.refreshFailures > 0) {
    recommendations.push(
      `Automatic refresh failed ${row.refreshFailures} time${row.refreshFailures === 1 ? "" : "s"} in a row; retrying with backoff.`,
    );
  }
  if (row.needsPlaylistReauth) {
    recommendations.push("Reconnect to grant the YouTube playlist scope.");
  }

  return {
    accountId: row.id,
    platform: row.platform,
    platformUserId: row.platformUserId,
    username: row.username,
    status: row.status,
    health: level,
    tokenValid: row.status === "active" && row.accessTokenEnc !== null && !expired,
    tokenExpiresAt: iso(row.tokenExpiresAt),
    lastRefreshedAt: iso(row.lastRefreshedAt),
    permissions: row.scopes,
    needsReconnect,
    error: accountError(row),
    recommendations,
  };
}
