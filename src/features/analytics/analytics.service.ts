import type { Db } from "../../db/client";
import type { BackfillJobRow } from "../../db/schema";
import { getSecretBox } from "../../lib/config";
import { ApiError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import { analyticsFetcher, NO_POST_ANALYTICS } from "../../platforms/analytics";
import { missingScope } from "../../platforms/analytics/types";
import { getModule } from "../../platforms/catalogue";
import { findAccount, openGrant } from "../accounts/accounts.repository";
import type { ServiceContext } from "../context";
import {
  findActiveBackfill,
  insertBackfillUnlessActive,
  latestBackfill,
  recentPostMetrics,
} from "./analytics.repository";
import { defaultTimes, historyTimes, type OptimalTimes } from "./optimal-times";

const notFound = () => new ApiError("NOT_FOUND", "Account not found");

/** Posts the ranking reads at most, newest first. */
const OPTIMAL_TIMES_POSTS = 2000;

export function toBackfill(row: BackfillJobRow) {
  return {
    id: row.id,
    status: row.status,
    progress: row.progress,
    postsImported: row.postsImported,
    pagesFetched: row.pagesFetched,
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? "" } : null,
    createdAt: iso(row.createdAt),
  };
}

/**
 * POST …/backfill: a new job for the account, or the one already pending or running (`created` false).
 * Refused with INVALID_PARAM for disconnected (or otherwise broken) accounts and for platforms or
 * accounts whose owner cannot read post analytics.
 */
export async function requestBackfill(
  { env, db, now }: ServiceContext,
  workspaceId: string,
  accountId: string,
): Promise<{ job: BackfillJobRow; created: boolean }> {
  const account = await findAccount(db, workspaceId, accountId);
  if (!account) throw notFound();
  if (account.status === "disconnected" || !account.accessTokenEnc) {
    throw new ApiError("INVALID_PARAM", "The account is disconnected; reconnect it before a backfill", [
      { field: "id", message: "Disconnected account" },
    ]);
  }
  if (account.status !== "active") {
    throw new ApiError("INVALID_PARAM", `The account is ${account.status}; reconnect it before a backfill`, [
      { field: "id", message: `Account ${account.status}` },
    ]);
  }
  const name = getModule(account.platform).name;
  const fetcher = analyticsFetcher(account.platform);
  if (!fetcher) {
    const reason = NO_POST_ANALYTICS[account.platform as keyof typeof NO_POST_ANALYTICS];
    throw new ApiError("INVALID_PARAM", `Backfill is not available for ${name}: ${reason}`, [
      { field: "platform", message: `${account.platform} has no post analytics for its owner` },
    ]);
  }
  const missing = account.scopes.length ? missingScope(account.scopes, fetcher.requiredScopes ?? []) : null;
  if (missing) {
    throw new ApiError(
      "INVALID_PARAM",
      `Backfill on ${name} needs the ${missing.join(" or ")} permission, which this account did not grant: reconnect it with that permission`,
      [{ field: "scopes", message: `Missing ${missing.join(" or ")}` }],
    );
  }
  if (fetcher.unavailable) {
    const grant = await openGrant(await getSecretBox(env), account);
    const why = fetcher.unavailable(
      {
        platformUserId: account.platformUserId,
        selectedPageId: account.selectedPageId,
        scopes: account.scopes,
      },
      grant,
    );
    if (why) throw new ApiError("INVALID_PARAM", why.message, [{ field: why.field, message: why.message }]);
  }
  const inserted = await insertBackfillUnlessActive(db, {
    id: newId("bf", now),
    workspaceId,
    accountId: account.id,
    now,
  });
  if (inserted) return { job: inserted, created: true };
  const active = await findActiveBackfill(db, account.id);
  if (active) return { job: active, created: false };
  // The active job finished between the two statements: one more try starts a fresh one.
  const retried = await insertBackfillUnlessActive(db, {
    id: newId("bf", now),
    workspaceId,
    accountId: account.id,
    now,
  });
  if (retried) return { job: retried, created: true };
  const current = await findActiveBackfill(db, account.id);
  if (!current) throw new Error("Backfill job neither created nor found");
  return { job: current, created: false };
}

export async function getBackfill(db: Db, workspaceId: string, accountId: string): Promise<BackfillJobRow> {
  const account = await findAccount(db, workspaceId, accountId);
  if (!account) throw notFound();
  const job = await latestBackfill(db, workspaceId, account.id);
  if (!job) throw new ApiError("NOT_FOUND", "No backfill has run for this account");
  return job;
}

/** GET …/optimal-times: from the account's imported posts, or platform defaults when they are too few. */
export async function optimalTimes(
  { db }: ServiceContext,
  workspaceId: string,
  accountId: string,
  timezone: string,
  limit: number,
): Promise<OptimalTimes> {
  const account = await findAccount(db, workspaceId, accountId);
  if (!account) throw notFound();
  const posts = await recentPostMetrics(db, account.id, OPTIMAL_TIMES_POSTS);
  return historyTimes(posts, timezone, limit) ?? defaultTimes(account.platform, timezone, limit);
}
