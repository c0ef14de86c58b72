import { createRoute, z } from "@hono/zod-openapi";
import type { WorkspaceRow } from "../../db/schema";
import { getSecretBox } from "../../lib/config";
import { ApiError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { createRouter, errorResponse, errorResponses, json, jsonBody } from "../../lib/router";
import { iso } from "../../lib/time";
import { getModule } from "../../platforms/catalogue";
import { nextRefreshAt } from "../../platforms/schedule";
import { refreshModelOf } from "../../platforms/types";
import { insertAccount, sealAccountSecrets } from "../accounts/accounts.repository";
import { toAccount } from "../accounts/accounts.service";
import { forgetKey } from "../auth/auth.middleware";
import { adminAuth } from "./admin.middleware";
import {
  createWorkspace as createWorkspaceRow,
  deadLetterPage,
  findOwnerUserId,
  findUser,
  findWorkspace,
  insertKey,
  listKeys as listKeyRows,
  revokeKey as revokeKeyRow,
  updateWorkspace as updateWorkspaceRow,
} from "./admin.repository";
import {
  CreatedKeySchema,
  CreateKeyBodySchema,
  CreateWorkspaceBodySchema,
  DeadLetterListSchema,
  DeadLettersQuerySchema,
  InsertAccountBodySchema,
  InsertedAccountSchema,
  KeyIdParamsSchema,
  KeyListSchema,
  UpdateWorkspaceBodySchema,
  WorkspaceIdParamsSchema,
  WorkspaceSchema,
} from "./admin.schemas";
import { mintKey, toApiKey, toWorkspace } from "./admin.service";

const tags = ["Admin"];
const security = [{ admin: [] }];
const middleware = [adminAuth];
/** The admin API's failures: its token, not an API key or a scope. */
const adminErrors = {
  400: errorResponses[400],
  401: errorResponse(401, {
    description: "Missing or wrong admin token, or the admin API disabled (UNAUTHORIZED)",
    message: "Invalid admin token",
  }),
  404: errorResponse(404, {
    description: "No such workspace or API key (NOT_FOUND)",
    message: "Workspace not found",
  }),
  500: errorResponses[500],
};
const workspaceNotFound = () => new ApiError("NOT_FOUND", "Workspace not found");
const ms = (value: string | null | undefined) => (value ? Date.parse(value) : null);
/** A per-platform override as stored: only the platforms it names, null when it names none. */
const withoutUnset = (limits: Record<string, number | null | undefined> | null | undefined) => {
  const named = Object.entries(limits ?? {}).filter(([, limit]) => limit !== undefined);
  return named.length ? (Object.fromEntries(named) as WorkspaceRow["platformAccountLimits"]) : null;
};

export const createWorkspace = createRoute({
  operationId: "createWorkspace",
  method: "post",
  path: "/workspaces",
  tags,
  security,
  middleware,
  summary: "Create a workspace (and its owner user)",
  request: jsonBody(CreateWorkspaceBodySchema),
  responses: { 201: json(WorkspaceSchema, "The workspace"), ...adminErrors },
});

export const getWorkspace = createRoute({
  operationId: "getWorkspace",
  method: "get",
  path: "/workspaces/{id}",
  tags,
  security,
  middleware,
  summary: "Get a workspace",
  request: { params: WorkspaceIdParamsSchema },
  responses: { 200: json(WorkspaceSchema, "The workspace"), ...adminErrors },
});

export const updateWorkspace = createRoute({
  operationId: "updateWorkspace",
  method: "patch",
  path: "/workspaces/{id}",
  tags,
  security,
  middleware,
  summary: "Update a workspace's plan, limits, platforms or callback domains",
  description:
    "platformAccountLimits replaces the whole per-platform override ({twitter: 20, instagram: null}: 20 X accounts, Instagram free of the plan's limit); null clears it.",
  request: { params: WorkspaceIdParamsSchema, ...jsonBody(UpdateWorkspaceBodySchema) },
  responses: { 200: json(WorkspaceSchema, "The workspace"), ...adminErrors },
});

export const createKey = createRoute({
  operationId: "createKey",
  method: "post",
  path: "/workspaces/{id}/keys",
  tags,
  security,
  middleware,
  summary: "Issue an API key (shown once)",
  request: { params: WorkspaceIdParamsSchema, ...jsonBody(CreateKeyBodySchema) },
  responses: { 201: json(CreatedKeySchema, "The key, shown this once"), ...adminErrors },
});

export const listKeys = createRoute({
  operationId: "listKeys",
  method: "get",
  path: "/workspaces/{id}/keys",
  tags,
  security,
  middleware,
  summary: "List a workspace's API keys (never the keys themselves)",
  request: { params: WorkspaceIdParamsSchema },
  responses: { 200: json(KeyListSchema, "The keys"), ...adminErrors },
});

export const revokeKey = createRoute({
  operationId: "revokeKey",
  method: "delete",
  path: "/keys/{id}",
  tags,
  security,
  middleware,
  summary: "Revoke an API key",
  description: "Takes effect at once on this isolate and within 30 seconds everywhere. Idempotent.",
  request: { params: KeyIdParamsSchema },
  responses: {
    200: json(z.object({ success: z.literal(true), apiKey: CreatedKeySchema.shape.apiKey }), "Revoked"),
    ...adminErrors,
  },
});

export const insertWorkspaceAccount = createRoute({
  operationId: "insertWorkspaceAccount",
  method: "post",
  path: "/workspaces/{id}/accounts",
  tags,
  security,
  middleware,
  summary: "Insert an account with tokens, skipping the platform (operators and tests)",
  description: "Tokens are encrypted like any other. Unlike the public connect flows, nothing is verified.",
  request: { params: WorkspaceIdParamsSchema, ...jsonBody(InsertAccountBodySchema) },
  responses: { 201: json(InsertedAccountSchema, "The account"), ...adminErrors },
});

export const listDeadLetters = createRoute({
  operationId: "listDeadLetters",
  method: "get",
  path: "/dead-letters",
  tags,
  security,
  middleware,
  summary: "List maintenance queue messages that failed every retry",
  description:
    "A message reaches the dead-letter queue after the consumer failed it max_retries times (never for a platform's refusal, which is the account's own error). Each is logged and recorded here with what it was for; ids only.",
  request: { query: DeadLettersQuerySchema },
  responses: {
    200: json(DeadLetterListSchema, "The most recent dead letters, newest first"),
    ...adminErrors,
  },
});

export const adminRouter = createRouter()
  .openapi(createWorkspace, async (c) => {
    const body = c.req.valid("json");
    const now = Date.now();
    const id = newId("ws", now);
    const ownerId = newId("usr", now);
    const row = await createWorkspaceRow(
      c.var.db,
      {
        id,
        name: body.name,
        plan: body.plan,
        accountLimit: body.accountLimit ?? null,
        platformAccountLimits: withoutUnset(body.platformAccountLimits),
        allowedPlatforms: body.allowedPlatforms ?? null,
        allowedCallbackDomains: [...new Set(body.allowedCallbackDomains)],
        sandbox: body.sandbox,
        createdAt: now,
        updatedAt: now,
      },
      { id: ownerId, workspaceId: id, email: body.ownerEmail ?? null, createdAt: now, updatedAt: now },
    );
    return c.json(toWorkspace(row, ownerId), 201);
  })
  .openapi(getWorkspace, async (c) => {
    const { id } = c.req.valid("param");
    const [row, ownerId] = await Promise.all([findWorkspace(c.var.db, id), findOwnerUserId(c.var.db, id)]);
    if (!row) throw workspaceNotFound();
    return c.json(toWorkspace(row, ownerId), 200);
  })
  .openapi(updateWorkspace, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const domains = body.allowedCallbackDomains && [...new Set(body.allowedCallbackDomains)];
    const row = await updateWorkspaceRow(c.var.db, id, {
      ...body,
      platformAccountLimits:
        body.platformAccountLimits === undefined ? undefined : withoutUnset(body.platformAccountLimits),
      allowedCallbackDomains: domains,
      updatedAt: Date.now(),
    });
    if (!row) throw workspaceNotFound();
    return c.json(toWorkspace(row, await findOwnerUserId(c.var.db, id)), 200);
  })
  .openapi(createKey, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const now = Date.now();
    const workspace = await findWorkspace(c.var.db, id);
    if (!workspace) throw workspaceNotFound();
    const userId = body.userId ?? (await findOwnerUserId(c.var.db, id));
    if (!userId || !(await findUser(c.var.db, id, userId))) {
      throw new ApiError("INVALID_PARAM", "userId is not a user of this workspace", [
        { field: "userId", message: "Unknown user" },
      ]);
    }
    const expiresAt = ms(body.expiresAt);
    if (expiresAt !== null && expiresAt <= now) {
      throw new ApiError("INVALID_PARAM", "expiresAt must be in the future", [
        { field: "expiresAt", message: "Must be in the future" },
      ]);
    }
    const minted = await mintKey(workspace.sandbox);
    const row = await insertKey(c.var.db, {
      id: newId("key", now),
      workspaceId: id,
      userId,
      name: body.name,
      keyHash: minted.keyHash,
      prefix: minted.prefix,
      lastFour: minted.lastFour,
      scopes: [...new Set(body.scopes)],
      createdAt: now,
      expiresAt,
    });
    return c.json({ key: minted.key, apiKey: toApiKey(row) }, 201);
  })
  .openapi(listDeadLetters, async (c) => {
    const { recent, total } = await deadLetterPage(c.var.db, c.req.valid("query").limit);
    const data = recent.map((row) => ({
      messageId: row.id,
      kind: row.kind,
      targetId: row.targetId,
      attempts: row.attempts,
      deadAt: iso(row.deadAt),
    }));
    return c.json({ total, data }, 200);
  })
  .openapi(listKeys, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await findWorkspace(c.var.db, id))) throw workspaceNotFound();
    const rows = await listKeyRows(c.var.db, id);
    return c.json({ data: rows.map(toApiKey) }, 200);
  })
  .openapi(revokeKey, async (c) => {
    const { id } = c.req.valid("param");
    const row = await revokeKeyRow(c.var.db, id, Date.now());
    if (!row) throw new ApiError("NOT_FOUND", "API key not found");
    forgetKey(row.id);
    return c.json({ success: true as const, apiKey: toApiKey(row) }, 200);
  })
  .openapi(insertWorkspaceAccount, async (c) => {
    const { id: workspaceId } = c.req.valid("param");
    const body = c.req.valid("json");
    if (!(await findWorkspace(c.var.db, workspaceId))) throw workspaceNotFound();
    const now = Date.now();
    const connectedAt = ms(body.connectedAt) ?? now;
    const id = newId("acc", connectedAt);
    const box = await getSecretBox(c.env);
    // A disconnected account holds no credentials, as after DELETE.
    const archived = body.status === "disconnected";
    const secrets = await sealAccountSecrets(box, id, {
      accessToken: archived ? null : body.credentials.accessToken,
      refreshToken: archived ? null : (body.credentials.refreshToken ?? null),
      extras: archived ? null : (body.credentials.extras ?? null),
    });
    const row = await insertAccount(c.var.db, {
      id,
      workspaceId,
      platform: body.platform,
      platformUserId: body.platformUserId,
      username: body.username ?? null,
      displayName: body.displayName ?? null,
      avatarUrl: body.avatarUrl ?? null,
      accountType: body.accountType ?? null,
      status: body.status,
      connectionType: body.connectionType,
      name: body.name ?? null,
      metadata: body.metadata ?? null,
      scopes: body.scopes,
      ...secrets,
      tokenExpiresAt: ms(body.tokenExpiresAt),
      refreshTokenExpiresAt: ms(body.refreshTokenExpiresAt),
      tokenIssuedAt: now,
      // Scheduled like a connected account unless the caller says otherwise.
      nextRefreshAt:
        body.nextRefreshAt !== undefined
          ? ms(body.nextRefreshAt)
          : archived
            ? null
            : nextRefreshAt(refreshModelOf(getModule(body.platform), body.credentials.extras ?? null), {
                expiresAt: ms(body.tokenExpiresAt),
                issuedAt: now,
                hasRefreshToken: Boolean(body.credentials.refreshToken),
              }),
      disconnectedAt: body.status === "disconnected" ? now : null,
      connectedAt,
      updatedAt: now,
    });
    if (!row) {
      throw new ApiError("INVALID_PARAM", "platformUserId is already connected in this workspace", [
        { field: "platformUserId", message: "Already connected" },
      ]);
    }
    return c.json({ account: toAccount(row) }, 201);
  });
