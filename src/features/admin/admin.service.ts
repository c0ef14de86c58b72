import type { z } from "@hono/zod-openapi";
import type { ApiKeyRow, WorkspaceRow } from "../../db/schema";
import { randomToken, sha256Hex } from "../../lib/crypto";
import { PLAN_ACCOUNT_LIMITS, type Plan, type Platform } from "../../lib/domain";
import { iso } from "../../lib/time";
import type { ApiKeySchema, WorkspaceSchema } from "./admin.schemas";

/** The account limit in force: the workspace's override, else its plan's (null is unlimited). */
export function accountLimitOf(workspace: Pick<WorkspaceRow, "plan" | "accountLimit">): number | null {
  return workspace.accountLimit ?? PLAN_ACCOUNT_LIMITS[workspace.plan];
}

/** Accounts of one platform a plan may hold, where it limits them (the reference peer's Pro: 10 on X). */
export const PLAN_PLATFORM_ACCOUNT_LIMITS: Record<Plan, Partial<Record<Platform, number>>> = {
  free: {},
  pro: { twitter: 10 },
  enterprise: {},
};

/** The per-platform limits in force: the plan's, each overridden by the workspace's (null lifts it). */
export function platformLimitsOf(
  workspace: Pick<WorkspaceRow, "plan" | "platformAccountLimits">,
): Partial<Record<Platform, number>> {
  const merged: Partial<Record<Platform, number | null>> = {
    ...PLAN_PLATFORM_ACCOUNT_LIMITS[workspace.plan],
    ...workspace.platformAccountLimits,
  };
  return Object.fromEntries(
    Object.entries(merged).filter(([, limit]) => limit !== null && limit !== undefined),
  );
}

export function toWorkspace(row: WorkspaceRow, ownerUserId: string | null): z.infer<typeof WorkspaceSchema> {
  return {
    id: row.id,
    name: row.name,
    plan: row.plan,
    accountLimit: accountLimitOf(row),
    accountLimitOverride: row.accountLimit,
    platformAccountLimits: platformLimitsOf(row),
    platformAccountLimitsOverride: row.platformAccountLimits,
    allowedPlatforms: row.allowedPlatforms,
    allowedCallbackDomains: row.allowedCallbackDomains,
    sandbox: row.sandbox,
    ownerUserId,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

export function toApiKey(row: ApiKeyRow): z.infer<typeof ApiKeySchema> {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    userId: row.userId,
    name: row.name,
    prefix: row.prefix,
    lastFour: row.lastFour,
    scopes: row.scopes,
    createdAt: iso(row.createdAt),
    expiresAt: iso(row.expiresAt),
    revokedAt: iso(row.revokedAt),
  };
}

/** A new API key and what is stored of it: its SHA-256, prefix and last four characters. */
export async function mintKey(sandbox: boolean) {
  const prefix = sandbox ? "swb_test_" : "swb_live_";
  const key = `${prefix}${randomToken(32)}`;
  return { key, keyHash: await sha256Hex(key), prefix, lastFour: key.slice(-4) };
}
