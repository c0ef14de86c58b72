import { z } from "@hono/zod-openapi";
import { PLATFORMS } from "../../lib/domain";
import { MetadataSchema, PlatformSchema } from "../accounts/accounts.schemas";

export const ConnectSessionIdParamsSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "cs_01jdzq…" }),
});

export const CreateConnectSessionBodySchema = z
  .object({
    endUserId: z.string().trim().min(1, "Must not be empty").max(200).openapi({
      description: "Your id for the person connecting; the account carries it, and so do its webhooks",
      example: "user_4821",
    }),
    endUserName: z.string().trim().min(1).max(200).optional().openapi({
      description: 'Shown on the page ("Connect an account for Ada")',
    }),
    allowedPlatforms: z
      .array(
        z
          .string()
          .transform((v) => v.toLowerCase())
          .pipe(z.enum(PLATFORMS, { error: `Must be one of ${PLATFORMS.join(", ")}` })),
      )
      .min(1)
      .max(PLATFORMS.length)
      .optional()
      .openapi({
        description: "The platforms the page offers: a subset of the workspace's; default all of them",
      }),
    returnUrl: z.string().min(1).max(2048).optional().openapi({
      description:
        "Where the page sends the user at the end, with status, accountId, endUserId and sessionId as query parameters: https on an allowed callback domain (http only on localhost)",
      example: "https://yourapp.com/settings/accounts",
    }),
    origin: z.string().min(1).max(2048).optional().openapi({
      description:
        "The origin of the window that opens the page as a popup (the browser SDK), when there is no returnUrl: the result is posted to it only. Allowlisted like returnUrl",
      example: "https://yourapp.com",
    }),
    metadata: MetadataSchema.optional().openapi({ description: "Copied onto the connected account" }),
    accountId: z.string().min(1).max(64).optional().openapi({
      description:
        "A reconnect session for this account: the page offers its platform only, and the end user must come back as the same platform user",
    }),
  })
  .strict()
  .openapi("CreateConnectSession");

export const ConnectSessionCreatedSchema = z
  .object({
    id: z.string().openapi({ example: "cs_01jdzq5m3k8r2t6v9w0x1y2z3a" }),
    token: z.string().openapi({ description: "Single use: open `url` once; stored only as a hash" }),
    url: z.string().openapi({ description: "The hosted page to send the end user to" }),
    expiresAt: z.string().openapi({ description: "30 minutes after creation" }),
  })
  .openapi("ConnectSessionCreated");

export const ConnectSessionStateSchema = z.enum(["pending", "completed", "expired", "failed"]);

export const ConnectSessionSchema = z
  .object({
    id: z.string(),
    status: ConnectSessionStateSchema.openapi({
      description:
        "pending (not used yet, or a completion under way), completed (accountId set), failed (the last attempt's error; the link may be retried until it expires), expired",
    }),
    endUserId: z.string(),
    endUserName: z.string().nullable(),
    allowedPlatforms: z.array(PlatformSchema).nullable(),
    returnUrl: z.string().nullable(),
    reconnectAccountId: z.string().nullable(),
    accountId: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    createdAt: z.string(),
    expiresAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .openapi("ConnectSession");

export type CreateConnectSessionBody = z.infer<typeof CreateConnectSessionBodySchema>;
export type ConnectSession = z.infer<typeof ConnectSessionSchema>;
