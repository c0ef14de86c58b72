import { z } from "@hono/zod-openapi";
import { ACCOUNT_STATUSES, CONNECTION_TYPES, PLATFORMS } from "../../lib/domain";
import { PaginationSchema } from "../../lib/pagination";

/** Any-case enum from a query string, answered in lowercase. */
const anyCase = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(values, { error: `Must be one of ${values.join(", ")} (any case)` }));

export const PlatformSchema = z.enum(PLATFORMS).openapi("Platform");
export const AccountStatusSchema = z.enum(ACCOUNT_STATUSES).openapi("AccountStatus");

/** Every status an account can have (each matches itself, but `error` also matches `expired`), and two groups. */
export const STATUS_FILTERS = [
  "active",
  "error",
  "expired",
  "suspended",
  "disconnected",
  "inactive",
  "all",
] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

const queryBoolean = z
  .string()
  .transform((v) => v.toLowerCase())
  .pipe(z.enum(["true", "false"], { error: "Must be true or false" }))
  .transform((v) => v === "true");

const queryInt = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,4}$/, `Must be an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .default(fallback)
    .openapi({ type: "integer", minimum: min, maximum: max, default: fallback });

/** Bounds of an account's usage labels: how many, and how long each. */
export const USAGE_LABELS_MAX = 20;
export const USAGE_LABEL_MAX = 64;

export const ListAccountsQuerySchema = z.object({
  status: anyCase(STATUS_FILTERS).optional().openapi({
    description:
      "ACTIVE, ERROR (error and expired), EXPIRED, SUSPENDED, DISCONNECTED, INACTIVE (every status but active and disconnected), or ALL (no status filter); any case",
    example: "ACTIVE",
  }),
  platform: anyCase(PLATFORMS)
    .optional()
    .openapi({ description: "Platform slug, any case", example: "twitter" }),
  includeArchived: queryBoolean
    .optional()
    .openapi({ type: "boolean", description: "Include disconnected (archived) accounts", default: false }),
  q: z
    .string()
    .trim()
    .min(1, "Must not be empty")
    .max(100, "At most 100 characters")
    .optional()
    .openapi({ description: "Search on username, display name and name (case-insensitive)" }),
  endUserId: z
    .string()
    .min(1, "Must not be empty")
    .max(200, "At most 200 characters")
    .optional()
    .openapi({ description: "Only accounts connected by this end user (hosted connect's endUserId)" }),
  includeTotal: queryBoolean.optional().openapi({
    type: "boolean",
    description: "Add pagination.total, the count of every matching account (one more query)",
    default: false,
  }),
  usage: z
    .string()
    .trim()
    .min(1, "Must not be empty")
    .max(USAGE_LABEL_MAX, `At most ${USAGE_LABEL_MAX} characters`)
    .optional()
    .openapi({ description: "Only accounts carrying this usage label (exact, case-sensitive)" }),
  limit: queryInt(1, 100, 20),
  cursor: z.string().max(200).optional().openapi({ description: "next_cursor of the previous page" }),
});

export const HealthQuerySchema = ListAccountsQuerySchema.pick({ platform: true, cursor: true }).extend({
  limit: queryInt(1, 100, 50),
});

export const AccountIdParamsSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "acc_01jdzq…" }),
});

export const ByPlatformParamsSchema = z.object({
  platform: anyCase(PLATFORMS).openapi({ param: { name: "platform", in: "path" }, example: "twitter" }),
  platformAccountId: z
    .string()
    .min(1)
    .max(256)
    .openapi({
      param: { name: "platformAccountId", in: "path" },
      description: "The account's id on the platform (the account's platformUserId)",
      example: "1234567890",
    }),
});

export const DeleteAccountQuerySchema = z.object({
  erase: queryBoolean.optional().openapi({
    type: "boolean",
    description:
      "Remove the account for good, with its metrics, backfill jobs and undelivered webhook deliveries, instead of archiving it",
    default: false,
  }),
});

export const AccountErrorSchema = z
  .object({ code: z.string(), message: z.string(), at: z.string() })
  .openapi("AccountError");

export const AccountSchema = z
  .object({
    id: z.string().openapi({ example: "acc_01jdzq5m3k8r2t6v9w0x1y2z3a" }),
    platform: PlatformSchema,
    platformUserId: z.string(),
    username: z.string().nullable(),
    displayName: z.string().nullable(),
    avatarUrl: z.string().nullable(),
    accountType: z.string().nullable().openapi({ description: "personal, business, creator, page…" }),
    status: AccountStatusSchema,
    connectionType: z.enum(CONNECTION_TYPES),
    name: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    permissions: z.array(z.string()).openapi({ description: "Scopes the platform granted" }),
    tokenExpiresAt: z.string().nullable(),
    lastRefreshedAt: z.string().nullable(),
    needsPlaylistReauth: z.boolean(),
    isSharedAccount: z.boolean(),
    selectedPage: z.object({ id: z.string(), name: z.string().nullable() }).nullable(),
    endUserId: z.string().nullable().openapi({
      description: "Your id for the person who connected it through a hosted connect session",
    }),
    usage: z.array(z.string()).openapi({
      description:
        "Your labels for what uses the account (your jobs, say), set through PATCH; GET /v1/accounts?usage= filters on one",
    }),
    lastUsedAt: z.string().nullable().openapi({
      description:
        "When the API last used its token for you (test, pages, playlists, audio search, a backfill page); updated at most once a minute",
    }),
    error: AccountErrorSchema.nullable(),
    connectedAt: z.string(),
    disconnectedAt: z.string().nullable(),
    updatedAt: z.string(),
  })
  .openapi("Account");

export const AccountListSchema = z
  .object({
    data: z.array(AccountSchema),
    pagination: PaginationSchema.extend({
      total: z.number().int().optional().openapi({
        description: "With includeTotal=true: every account the filter matches, on all pages",
      }),
    }),
  })
  .openapi("AccountList");

/** Metadata is a JSON object of at most this many bytes once serialised. */
export const METADATA_MAX_BYTES = 8192;

export const MetadataSchema = z
  .record(z.string(), z.unknown(), { error: "Must be a JSON object" })
  .refine((value) => new TextEncoder().encode(JSON.stringify(value)).byteLength <= METADATA_MAX_BYTES, {
    message: `Must be at most ${METADATA_MAX_BYTES} bytes as JSON`,
  });

export const UpdateAccountBodySchema = z
  .object({
    name: z.string().trim().min(1).max(100).nullable().optional(),
    metadata: MetadataSchema.nullable()
      .optional()
      .openapi({ description: "Replaces the whole object; null clears it" }),
    usage: z
      .array(
        z
          .string()
          .trim()
          .min(1, "Must not be empty")
          .max(USAGE_LABEL_MAX, `At most ${USAGE_LABEL_MAX} characters`),
      )
      .max(USAGE_LABELS_MAX, `At most ${USAGE_LABELS_MAX} labels`)
      .nullable()
      .optional()
      .openapi({
        description: `Replaces the account's usage labels (free strings, at most ${USAGE_LABELS_MAX} of ${USAGE_LABEL_MAX} characters; repeats dropped); null or [] clears them`,
        example: ["nightly-digest", "campaign-42"],
      }),
  })
  .strict()
  .refine((body) => body.name !== undefined || body.metadata !== undefined || body.usage !== undefined, {
    message: "Provide name, metadata or usage",
  })
  .openapi("UpdateAccount");

export const HealthLevelSchema = z.enum(["healthy", "warning", "error"]);

export const AccountHealthSchema = z
  .object({
    accountId: z.string(),
    platform: PlatformSchema,
    platformUserId: z.string(),
    username: z.string().nullable(),
    status: AccountStatusSchema,
    health: HealthLevelSchema,
    tokenValid: z.boolean(),
    tokenExpiresAt: z.string().nullable(),
    lastRefreshedAt: z.string().nullable(),
    permissions: z.array(z.string()),
    needsReconnect: z.boolean(),
    error: AccountErrorSchema.nullable(),
    recommendations: z.array(z.string()),
  })
  .openapi("AccountHealth");

export const HealthReportSchema = z
  .object({
    accounts: z.array(AccountHealthSchema),
    summary: z.object({
      total: z.number().int(),
      healthy: z.number().int(),
      warning: z.number().int(),
      error: z.number().int(),
    }),
    pagination: PaginationSchema,
  })
  .openapi("HealthReport");

export type Account = z.infer<typeof AccountSchema>;
export type AccountHealth = z.infer<typeof AccountHealthSchema>;
export type ListAccountsQuery = z.infer<typeof ListAccountsQuerySchema>;
export type HealthLevel = z.infer<typeof HealthLevelSchema>;
export type Credentials = z.infer<typeof CredentialsSchema>;

const Secret = z.string().min(1).max(8192);
const ExtraId = z.string().min(1).max(256);

/** Credentials as POST /v1/accounts and POST …/credentials take them. */
export const CredentialsSchema = z
  .object({
    accessToken: Secret.optional().openapi({
      description: "Bring-your-own token; for Telegram the bot token",
    }),
    refreshToken: Secret.optional(),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ description: "When accessToken expires" }),
    botToken: Secret.optional().openapi({ description: "Telegram: the bot token from @BotFather" }),
    identifier: z.string().min(1).max(256).optional().openapi({ description: "Bluesky: handle or DID" }),
    appPassword: Secret.optional().openapi({ description: "Bluesky: an app password (never stored)" }),
    pageId: ExtraId.optional(),
    igUserId: ExtraId.optional(),
    authorUrn: ExtraId.optional(),
    phoneNumberId: ExtraId.optional().openapi({ description: "WhatsApp: the phone number id" }),
    wabaId: ExtraId.optional(),
    chatId: ExtraId.optional().openapi({ description: "Telegram: the channel or chat to post to" }),
    instance: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .openapi({ description: "Mastodon: the account's instance" }),
    oauthVersion: z.enum(["instagram_login", "fb_login"]).optional().openapi({
      description:
        "Instagram: fb_login when accessToken is a Facebook user token (Instagram through Facebook Login); instagram_login (the default) for an Instagram-Login token",
    }),
  })
  .strict();

export const CreateAccountBodySchema = z
  .object({
    platform: z
      .string()
      .transform((v) => v.toLowerCase())
      .pipe(PlatformSchema),
    platformAccountId: z.string().min(1).max(256).optional().openapi({
      description:
        "The account's id on the platform; when given it must match what the credentials belong to",
    }),
    credentials: CredentialsSchema,
    name: z.string().trim().min(1).max(100).nullable().optional(),
    metadata: MetadataSchema.nullable().optional(),
  })
  .strict()
  .refine((body) => body.credentials.oauthVersion === undefined || body.platform === "instagram", {
    message: "oauthVersion applies to Instagram only",
    path: ["credentials", "oauthVersion"],
  })
  .openapi("CreateAccount");

export const UpdateCredentialsBodySchema = z
  .object({ credentials: CredentialsSchema })
  .strict()
  .refine(
    ({ credentials: c }) =>
      c.accessToken !== undefined || c.botToken !== undefined || c.appPassword !== undefined,
    { message: "Provide accessToken, botToken or appPassword", path: ["credentials"] },
  )
  .openapi("UpdateCredentials");

export const ConnectedAccountSchema = z
  .object({ account: AccountSchema, warning: z.string().optional() })
  .openapi("ConnectedAccount");

export const TestResultSchema = z
  .object({
    success: z.boolean(),
    message: z.string().openapi({ example: "Connection verified" }),
    details: z
      .object({
        platformUserId: z.string(),
        username: z.string().nullable(),
        displayName: z.string().nullable(),
      })
      .optional(),
  })
  .openapi("TestResult");

export const RefreshResultSchema = z
  .object({
    success: z.literal(true),
    refreshed: z.boolean().openapi({ description: "False when nothing was refreshed (see message)" }),
    message: z.string(),
    tokenExpiresAt: z.string().nullable(),
    account: AccountSchema,
  })
  .openapi("RefreshResult");
