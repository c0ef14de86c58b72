/** The platforms Switchboard connects, by slug. */
export const PLATFORMS = [
  "twitter",
  "linkedin",
  "instagram",
  "facebook",
  "bluesky",
  "threads",
  "youtube",
  "mastodon",
  "tiktok",
  "pinterest",
  "snapchat",
  "reddit",
  "telegram",
  "googlebusiness",
  "whatsapp",
] as const;
export type Platform = (typeof PLATFORMS)[number];

export const ACCOUNT_STATUSES = ["active", "expired", "disconnected", "suspended", "error"] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

export const CONNECTION_TYPES = ["oauth", "credentials", "byok"] as const;
export type ConnectionType = (typeof CONNECTION_TYPES)[number];

/** A hosted connect session's stored status; `expired` is derived from the time, never stored. */
export const CONNECT_SESSION_STATUSES = ["pending", "claimed", "completed", "failed"] as const;
export type ConnectSessionStatus = (typeof CONNECT_SESSION_STATUSES)[number];

export const PLANS = ["free", "pro", "enterprise"] as const;
export type Plan = (typeof PLANS)[number];

/** Accounts a plan may hold; null is unlimited. A workspace may override it. */
export const PLAN_ACCOUNT_LIMITS: Record<Plan, number | null> = { free: 5, pro: 50, enterprise: null };

export const SCOPES = [
  "accounts:read",
  "accounts:write",
  "webhooks:read",
  "webhooks:write",
  "read:posts",
  "analytics:read",
] as const;
export type Scope = (typeof SCOPES)[number];

/** Webhook event types a customer can subscribe to. */
export const EVENT_TYPES = [
  "account.connected",
  "account.error",
  "account.disconnected",
  "account.recovered",
  "account.expiring",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
