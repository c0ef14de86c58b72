import { z } from "@hono/zod-openapi";
import { CONNECTION_TYPES, PLANS, PLATFORMS, SCOPES } from "../../lib/domain";
import {
  AccountSchema,
  AccountStatusSchema,
  MetadataSchema,
  PlatformSchema,
} from "../accounts/accounts.schemas";

const HOSTNAME =
  /^(\*\.)?(localhost|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+)$/;

const CallbackDomainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(HOSTNAME, "Must be a hostname such as app.example.com, *.example.com or localhost");

const IdParam = (name: string, example: string) =>
  z.object({
    id: z
      .string()
      .min(1)
      .max(64)
      .openapi({ param: { name, in: "path" }, example }),
  });

export const WorkspaceIdParamsSchema = IdParam("id", "ws_01jdzq…");
export const KeyIdParamsSchema = IdParam("id", "key_01jdzq…");

const workspaceFields = {
  name: z.string().trim().min(1).max(100),
  plan: z.enum(PLANS),
  accountLimit: z.number().int().min(0).max(1_000_000).nullable().openapi({
    description: "Overrides the plan's limit (free 5, pro 50, enterprise unlimited); null uses the plan's",
  }),
  platformAccountLimits: z
    .object(
      Object.fromEntries(
        PLATFORMS.map((p) => [p, z.number().int().min(0).max(1_000_000).nullable().optional()]),
      ) as Record<(typeof PLATFORMS)[number], z.ZodOptional<z.ZodNullable<z.ZodNumber>>>,
    )
    .strict()
    .nullable()
    .openapi({
      description:
        "Per-platform account limits overriding the plan's (pro: 10 on twitter), platform by platform; a null limit lifts the plan's, and null as the whole value uses the plan's",
      example: { twitter: 20, instagram: 5 },
    }),
  allowedPlatforms: z.array(z.enum(PLATFORMS)).max(PLATFORMS.length).nullable().openapi({
    description: "Platforms this workspace may connect; null allows all",
  }),
  allowedCallbackDomains: z.array(CallbackDomainSchema).max(50),
};

export const CreateWorkspaceBodySchema = z
  .object({
    name: workspaceFields.name,
    plan: workspaceFields.plan.default("free"),
    accountLimit: workspaceFields.accountLimit.optional(),
    platformAccountLimits: workspaceFields.platformAccountLimits.optional(),
    allowedPlatforms: workspaceFields.allowedPlatforms.optional(),
    allowedCallbackDomains: workspaceFields.allowedCallbackDomains.default([]),
    sandbox: z.boolean().default(false).openapi({ description: "Sandbox workspaces get swb_test_ keys" }),
    ownerEmail: z.email().max(254).optional(),
  })
  .strict()
  .openapi("CreateWorkspace");

export const UpdateWorkspaceBodySchema = z
  .object({
    name: workspaceFields.name.optional(),
    plan: workspaceFields.plan.optional(),
    accountLimit: workspaceFields.accountLimit.optional(),
    platformAccountLimits: workspaceFields.platformAccountLimits.optional(),
    allowedPlatforms: workspaceFields.allowedPlatforms.optional(),
    allowedCallbackDomains: workspaceFields.allowedCallbackDomains.optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: "Provide at least one field" })
  .openapi("UpdateWorkspace");

export const WorkspaceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    plan: z.enum(PLANS),
    accountLimit: z.number().int().nullable().openapi({ description: "Effective limit; null is unlimited" }),
    accountLimitOverride: z.number().int().nullable(),
    platformAccountLimits: z.record(z.string(), z.number().int()).openapi({
      description: "Effective per-platform limits; a platform not named is limited only by accountLimit",
    }),
    platformAccountLimitsOverride: z.record(z.string(), z.number().int().nullable()).nullable(),
    allowedPlatforms: z.array(z.enum(PLATFORMS)).nullable(),
    allowedCallbackDomains: z.array(z.string()),
    sandbox: z.boolean(),
    ownerUserId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Workspace");

export const CreateKeyBodySchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(z.enum(SCOPES)).min(1, "Grant at least one scope").max(SCOPES.length),
    userId: z.string().max(64).optional().openapi({ description: "Defaults to the workspace owner" }),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .openapi("CreateKey");

export const ApiKeySchema = z
  .object({
    id: z.string(),
    workspaceId: z.string(),
    userId: z.string(),
    name: z.string(),
    prefix: z.string(),
    lastFour: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi("ApiKey");

export const CreatedKeySchema = z
  .object({
    key: z.string().openapi({ description: "Shown once; only its SHA-256 is stored" }),
    apiKey: ApiKeySchema,
  })
  .openapi("CreatedKey");

export const KeyListSchema = z.object({ data: z.array(ApiKeySchema) }).openapi("KeyList");

export const DeadLettersQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 }),
});

export const DeadLetterSchema = z
  .object({
    messageId: z.string(),
    kind: z.enum(["refresh", "deliver", "malformed"]),
    targetId: z.string().nullable().openapi({ description: "The account or delivery the message was for" }),
    attempts: z.number().int(),
    deadAt: z.string(),
  })
  .openapi("DeadLetter");

export const DeadLetterListSchema = z
  .object({
    total: z.number().int().openapi({ description: "Every dead letter recorded (kept 30 days)" }),
    data: z.array(DeadLetterSchema),
  })
  .openapi("DeadLetterList");

const SecretString = z.string().min(1).max(8192);

export const InsertAccountBodySchema = z
  .object({
    platform: PlatformSchema,
    platformUserId: z.string().min(1).max(256),
    username: z.string().max(256).nullable().optional(),
    displayName: z.string().max(256).nullable().optional(),
    avatarUrl: z.url().max(2048).nullable().optional(),
    accountType: z.string().max(32).nullable().optional(),
    status: AccountStatusSchema.default("active"),
    connectionType: z.enum(CONNECTION_TYPES).default("byok"),
    name: z.string().max(100).nullable().optional(),
    metadata: MetadataSchema.nullable().optional(),
    scopes: z.array(z.string().max(200)).max(100).default([]),
    credentials: z
      .object({
        accessToken: SecretString,
        refreshToken: SecretString.optional(),
        extras: z.record(z.string(), z.unknown()).optional(),
      })
      .strict(),
    tokenExpiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
    refreshTokenExpiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
    nextRefreshAt: z.iso.datetime({ offset: true }).nullable().optional(),
    connectedAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .openapi("AdminInsertAccount");

/** The inserted account, wrapped like every other answer that creates one (POST /v1/accounts, the callback). */
export const InsertedAccountSchema = z.object({ account: AccountSchema }).openapi("InsertedAccount");
