import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type {
  AccountStatus,
  ConnectionType,
  ConnectSessionStatus,
  EventType,
  Plan,
  Platform,
  Scope,
} from "../lib/domain";

// Times are integer milliseconds since the epoch; ids are prefixed and time-sortable (lib/ids).

export const workspaces = sqliteTable("workspaces", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  plan: text("plan").$type<Plan>().notNull().default("free"),
  /** Overrides the plan's account limit; null means the plan's own. */
  accountLimit: integer("account_limit"),
  /** Overrides the plan's per-platform account limits, platform by platform; a null limit lifts the plan's. */
  platformAccountLimits: text("platform_account_limits", { mode: "json" }).$type<
    Partial<Record<Platform, number | null>>
  >(),
  /** Null means every platform. */
  allowedPlatforms: text("allowed_platforms", { mode: "json" }).$type<Platform[]>(),
  allowedCallbackDomains: text("allowed_callback_domains", { mode: "json" })
    .$type<string[]>()
    .notNull()
    .default(sql`'[]'`),
  /** Sandbox workspaces get `swb_test_` keys. */
  sandbox: integer("sandbox", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    email: text("email"),
    ga4ClientId: text("ga4_client_id"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("users_workspace_idx").on(t.workspaceId)],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** SHA-256 (hex) of the whole key; the key itself is never stored. */
    keyHash: text("key_hash").notNull(),
    prefix: text("prefix").notNull(),
    lastFour: text("last_four").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<Scope[]>().notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash_uq").on(t.keyHash), index("api_keys_workspace_idx").on(t.workspaceId)],
);

export const accounts = sqliteTable(
  "accounts",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    platform: text("platform").$type<Platform>().notNull(),
    platformUserId: text("platform_user_id").notNull(),
    username: text("username"),
    displayName: text("display_name"),
    avatarUrl: text("avatar_url"),
    accountType: text("account_type"),
    status: text("status").$type<AccountStatus>().notNull().default("active"),
    connectionType: text("connection_type").$type<ConnectionType>().notNull(),
    name: text("name"),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>(),
    /** Scopes the platform granted, as it reported them. */
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),

    // Secrets: AES-256-GCM ciphertexts (lib/crypto), bound to this row and column.
    accessTokenEnc: text("access_token_enc"),
    refreshTokenEnc: text("refresh_token_enc"),
    /** JSON of provider extras (page tokens, DPoP keys, app passwords), encrypted as one value. */
    extrasEnc: text("extras_enc"),
    /** Key version of every ciphertext on the row; the rewrap job selects on it. */
    keyVersion: text("key_version"),

    tokenExpiresAt: integer("token_expires_at"),
    refreshTokenExpiresAt: integer("refresh_token_expires_at"),
    /** When the current access token was issued (extend-in-place tokens need ≥ 24 h of age). */
    tokenIssuedAt: integer("token_issued_at"),
    lastRefreshedAt: integer("last_refreshed_at"),
    refreshFailures: integer("refresh_failures").notNull().default(0),
    /** When the cron should next try to refresh; null when there is nothing to refresh. */
    nextRefreshAt: integer("next_refresh_at"),
    /** One refresh at a time: the holder's lease id and when the lease lapses. */
    refreshLeaseId: text("refresh_lease_id"),
    refreshLeaseUntil: integer("refresh_lease_until"),
    /**
     * When a lease lapsed unreleased (its holder may have fetched tokens it never stored, see
     * pending-grants.ts), set by the next lease take; cleared once a refresh stores new tokens.
     */
    lapsedLeaseUntil: integer("lapsed_lease_until"),
    /** Set once `account.expiring` was sent for the current token. */
    expiringNotifiedAt: integer("expiring_notified_at"),

    lastErrorCode: text("last_error_code"),
    lastErrorMessage: text("last_error_message"),
    lastErrorAt: integer("last_error_at"),

    selectedPageId: text("selected_page_id"),
    selectedPageName: text("selected_page_name"),
    needsPlaylistReauth: integer("needs_playlist_reauth", { mode: "boolean" }).notNull().default(false),
    isSharedAccount: integer("is_shared_account", { mode: "boolean" }).notNull().default(false),
    /** The customer's own id for the person who connected it (hosted connect sessions). */
    endUserId: text("end_user_id"),
    /** The customer's labels for what uses the account (its jobs), at most 20; the list filters on one. */
    usage: text("usage", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    /** When the API last read its tokens for the customer's use, at most once a minute (session.ts). */
    lastUsedAt: integer("last_used_at"),

    connectedAt: integer("connected_at").notNull(),
    disconnectedAt: integer("disconnected_at"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("accounts_workspace_platform_user_uq").on(t.workspaceId, t.platform, t.platformUserId),
    // The list query: newest first by id within a workspace, optionally by status.
    index("accounts_workspace_list_idx").on(t.workspaceId, t.id),
    index("accounts_workspace_status_list_idx").on(t.workspaceId, t.status, t.id),
    // Shared-account detection across workspaces.
    index("accounts_platform_user_idx").on(t.platform, t.platformUserId),
    // The cron's due scan and the rewrap job.
    index("accounts_next_refresh_idx").on(t.nextRefreshAt),
    index("accounts_key_version_idx").on(t.keyVersion),
    // The list's endUserId filter.
    index("accounts_workspace_end_user_idx").on(t.workspaceId, t.endUserId, t.id),
    // Tokens nothing refreshes, by expiry (account.expiring, expiry): partial, so the cron's scan
    // reads only those rows instead of every active account expiring within a week.
    index("accounts_unrefreshed_expiry_idx")
      .on(t.status, t.tokenExpiresAt)
      .where(sql`${t.nextRefreshAt} IS NULL`),
  ],
);

/** Hashes of consumed OAuth states: the single-use guard (KV alone is eventually consistent). */
export const oauthStateUses = sqliteTable(
  "oauth_state_uses",
  {
    stateHash: text("state_hash").primaryKey(),
    workspaceId: text("workspace_id").notNull(),
    consumedAt: integer("consumed_at").notNull(),
    /** When the state would have expired anyway; purged after this. */
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("oauth_state_uses_expires_idx").on(t.expiresAt)],
);

/**
 * Hosted connect sessions: a link one end user opens to connect one account. Only the token's hash
 * is kept; single use is decided here by a conditional claim, never in KV.
 */
export const connectSessions = sqliteTable(
  "connect_sessions",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    /** SHA-256 (hex) of the session token. */
    tokenHash: text("token_hash").notNull(),
    endUserId: text("end_user_id").notNull(),
    endUserName: text("end_user_name"),
    /** Null means every platform the workspace allows. */
    allowedPlatforms: text("allowed_platforms", { mode: "json" }).$type<Platform[]>(),
    returnUrl: text("return_url"),
    /** The origin the result is posted to when the page runs as a popup (else the returnUrl's). */
    origin: text("origin"),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>(),
    /** A reconnect session: the end user must come back as this account's platform user. */
    reconnectAccountId: text("reconnect_account_id"),
    /** pending, claimed (a completion under way), completed or failed. */
    status: text("status").$type<ConnectSessionStatus>().notNull().default("pending"),
    /** The platform of the last attempt. */
    platform: text("platform").$type<Platform>(),
    claimId: text("claim_id"),
    claimedUntil: integer("claimed_until"),
    accountId: text("account_id"),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    completedAt: integer("completed_at"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("connect_sessions_token_uq").on(t.tokenHash),
    index("connect_sessions_workspace_idx").on(t.workspaceId, t.id),
    index("connect_sessions_expires_idx").on(t.expiresAt),
  ],
);

/** OAuth apps Switchboard registered on a platform instance (Mastodon), client secret encrypted. */
export const platformApps = sqliteTable(
  "platform_apps",
  {
    platform: text("platform").$type<Platform>().notNull(),
    /** Instance origin, e.g. https://mastodon.social. */
    instance: text("instance").notNull(),
    clientId: text("client_id").notNull(),
    clientSecretEnc: text("client_secret_enc").notNull(),
    keyVersion: text("key_version").notNull(),
    redirectUri: text("redirect_uri").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.platform, t.instance] })],
);

export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    description: text("description"),
    /** Event types delivered; null means every type. */
    eventTypes: text("event_types", { mode: "json" }).$type<EventType[]>(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    disabledReason: text("disabled_reason"),
    /** `whsec_…`, encrypted; the previous one keeps signing until previousSecretExpiresAt. */
    secretEnc: text("secret_enc").notNull(),
    previousSecretEnc: text("previous_secret_enc"),
    previousSecretExpiresAt: integer("previous_secret_expires_at"),
    keyVersion: text("key_version").notNull(),
    /** Start of the current run of failed attempts; cleared by a success. */
    failingSince: integer("failing_since"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("webhook_endpoints_workspace_idx").on(t.workspaceId, t.id),
    index("webhook_endpoints_key_version_idx").on(t.keyVersion),
  ],
);

/** The outbox: every event, written in the same batch as the change that caused it. */
export const events = sqliteTable(
  "events",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    /** The exact JSON body delivered (no token or secret ever goes in). */
    payload: text("payload").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("events_created_idx").on(t.createdAt)],
);

export const deliveries = sqliteTable(
  "deliveries",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull(),
    eventId: text("event_id")
      .notNull()
      .references(() => events.id, { onDelete: "cascade" }),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    status: text("status").$type<"pending" | "succeeded" | "failed">().notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at"),
    leaseId: text("lease_id"),
    leaseUntil: integer("lease_until"),
    lastAttemptAt: integer("last_attempt_at"),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("deliveries_due_idx").on(t.status, t.nextAttemptAt),
    index("deliveries_endpoint_idx").on(t.endpointId, t.id),
    index("deliveries_event_idx").on(t.eventId),
  ],
);

/** Historical analytics imports; the cron advances running jobs a page at a time. */
export const backfillJobs = sqliteTable(
  "backfill_jobs",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    status: text("status")
      .$type<"pending" | "running" | "completed" | "failed">()
      .notNull()
      .default("pending"),
    /** The platform's pagination cursor for the next page; null before the first page. */
    cursor: text("cursor"),
    pagesFetched: integer("pages_fetched").notNull().default(0),
    postsImported: integer("posts_imported").notNull().default(0),
    /** Estimated progress from 0 to 1, where the platform says how much there is. */
    progress: real("progress"),
    attempts: integer("attempts").notNull().default(0),
    nextRunAt: integer("next_run_at"),
    leaseId: text("lease_id"),
    leaseUntil: integer("lease_until"),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("backfill_jobs_due_idx").on(t.status, t.nextRunAt),
    index("backfill_jobs_account_idx").on(t.accountId, t.id),
  ],
);

/** One row per published post: its metrics as last imported (idempotent on account and post). */
export const postMetrics = sqliteTable(
  "post_metrics",
  {
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    platformPostId: text("platform_post_id").notNull(),
    workspaceId: text("workspace_id").notNull(),
    platform: text("platform").$type<Platform>().notNull(),
    publishedAt: integer("published_at").notNull(),
    impressions: integer("impressions"),
    reach: integer("reach"),
    likes: integer("likes"),
    comments: integer("comments"),
    shares: integer("shares"),
    saves: integer("saves"),
    videoViews: integer("video_views"),
    importedAt: integer("imported_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.platformPostId] }),
    index("post_metrics_account_time_idx").on(t.accountId, t.publishedAt),
  ],
);

/**
 * Queue messages that failed every delivery and reached the dead-letter queue: what they were for
 * (ids only; a message never carries a secret), recorded by the dead-letter consumer for the admin API.
 */
export const deadLetters = sqliteTable(
  "dead_letters",
  {
    /** The queue's message id: a redelivered dead letter is recorded once. */
    id: text("id").primaryKey(),
    kind: text("kind").$type<"refresh" | "deliver" | "malformed">().notNull(),
    targetId: text("target_id"),
    attempts: integer("attempts").notNull(),
    body: text("body").notNull(),
    deadAt: integer("dead_at").notNull(),
  },
  (t) => [index("dead_letters_dead_at_idx").on(t.deadAt)],
);

export type WorkspaceRow = typeof workspaces.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type AccountRow = typeof accounts.$inferSelect;
export type NewAccountRow = typeof accounts.$inferInsert;
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type DeliveryRow = typeof deliveries.$inferSelect;
export type BackfillJobRow = typeof backfillJobs.$inferSelect;
export type PostMetricRow = typeof postMetrics.$inferSelect;
export type DeadLetterRow = typeof deadLetters.$inferSelect;
export type ConnectSessionRow = typeof connectSessions.$inferSelect;
