import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError } from "../../lib/errors";
import { decodeCursor, paginate } from "../../lib/pagination";
import {
  type AppEnv,
  bearer,
  createRouter,
  errorResponse,
  errorResponses,
  json,
  jsonBody,
  platformErrorResponses,
} from "../../lib/router";
import { SuccessSchema } from "../../lib/schemas";
import { iso } from "../../lib/time";
import { providerFailure } from "../../platforms/failure";
import type { CredentialsInput } from "../../platforms/types";
import { serviceOf } from "../context";
import { sendSoon } from "../webhooks/webhooks.service";
import {
  accountHealthPage,
  countAccounts,
  findAccountIdByPlatformUser,
  findAccountView,
  findAccountViewByPlatformUser,
  listAccounts as listAccountRows,
  updateAccount as updateAccountRow,
} from "./accounts.repository";
import {
  AccountIdParamsSchema,
  AccountListSchema,
  AccountSchema,
  ByPlatformParamsSchema,
  ConnectedAccountSchema,
  CreateAccountBodySchema,
  type Credentials,
  DeleteAccountQuerySchema,
  HealthQuerySchema,
  HealthReportSchema,
  ListAccountsQuerySchema,
  RefreshResultSchema,
  TestResultSchema,
  UpdateAccountBodySchema,
  UpdateCredentialsBodySchema,
} from "./accounts.schemas";
import { toAccount, toAccountHealth } from "./accounts.service";
import {
  connectWithCredentials,
  disconnect,
  erase,
  refreshNow,
  testConnection,
  updateCredentials,
} from "./connection.service";
import { toConnected } from "./upsert.service";

const tags = ["Accounts"];
const notFound = () => new ApiError("NOT_FOUND", "Account not found");

export const listAccounts = createRoute({
  operationId: "listAccounts",
  method: "get",
  path: "/",
  tags,
  security: bearer("accounts:read"),
  summary: "List accounts",
  description:
    "Newest first. Disconnected accounts are left out unless includeArchived=true or status asks for them. includeTotal=true adds pagination.total.",
  request: { query: ListAccountsQuerySchema },
  responses: { 200: json(AccountListSchema, "A page of accounts"), ...errorResponses },
});

export const getAccountHealth = createRoute({
  operationId: "getAccountHealth",
  method: "get",
  path: "/health",
  tags,
  security: bearer("accounts:read"),
  summary: "Account health",
  description:
    "Per account: health, token validity, granted permissions, whether it needs a reconnect, and what to do. The summary counts every non-archived account of the workspace (within `platform` if given).",
  request: { query: HealthQuerySchema },
  responses: { 200: json(HealthReportSchema, "Health of a page of accounts"), ...errorResponses },
});

export const getAccount = createRoute({
  operationId: "getAccount",
  method: "get",
  path: "/{id}",
  tags,
  security: bearer("accounts:read"),
  summary: "Get an account",
  request: { params: AccountIdParamsSchema },
  responses: { 200: json(AccountSchema, "The account"), ...errorResponses },
});

export const updateAccount = createRoute({
  operationId: "updateAccount",
  method: "patch",
  path: "/{id}",
  tags,
  security: bearer("accounts:write"),
  summary: "Rename an account, or replace its metadata or usage labels",
  request: { params: AccountIdParamsSchema, ...jsonBody(UpdateAccountBodySchema) },
  responses: { 200: json(AccountSchema, "The updated account"), ...errorResponses },
});

const deleteDescription =
  "Revokes at the platform where it can, wipes stored credentials and archives the account (status disconnected); idempotent. With erase=true, removes the account and its post metrics, backfill jobs and undelivered webhook deliveries for good instead (no event is sent; a second erase answers NOT_FOUND).";

export const deleteAccount = createRoute({
  operationId: "deleteAccount",
  method: "delete",
  path: "/{id}",
  tags,
  security: bearer("accounts:write"),
  summary: "Disconnect or erase an account",
  description: deleteDescription,
  request: { params: AccountIdParamsSchema, query: DeleteAccountQuerySchema },
  responses: { 200: json(SuccessSchema, "Disconnected, or erased"), ...errorResponses },
});

export const getAccountByPlatform = createRoute({
  operationId: "getAccountByPlatform",
  method: "get",
  path: "/by-platform/{platform}/{platformAccountId}",
  tags,
  security: bearer("accounts:read"),
  summary: "Get an account by its platform and platform account id",
  description: "The same answer as GET /v1/accounts/{id} for the workspace's account of that platform user.",
  request: { params: ByPlatformParamsSchema },
  responses: { 200: json(AccountSchema, "The account"), ...errorResponses },
});

export const deleteAccountByPlatform = createRoute({
  operationId: "deleteAccountByPlatform",
  method: "delete",
  path: "/by-platform/{platform}/{platformAccountId}",
  tags,
  security: bearer("accounts:write"),
  summary: "Disconnect or erase an account by its platform and platform account id",
  description: `As DELETE /v1/accounts/{id}. ${deleteDescription}`,
  request: { params: ByPlatformParamsSchema, query: DeleteAccountQuerySchema },
  responses: { 200: json(SuccessSchema, "Disconnected, or erased"), ...errorResponses },
});

export const createAccount = createRoute({
  operationId: "createAccount",
  method: "post",
  path: "/",
  tags,
  security: bearer("accounts:write"),
  summary: "Connect an account without OAuth",
  description:
    "Bring your own token (platformAccountId, credentials.accessToken, optional refresh token, expiry and extras such as pageId, igUserId, authorUrn), a Telegram bot token, a Bluesky handle and app password, or a WhatsApp system-user token with its phone number id. The platform verifies the credentials before anything is stored; the same platform user again updates the existing account.",
  request: jsonBody(CreateAccountBodySchema),
  responses: {
    200: json(ConnectedAccountSchema, "An existing account, updated"),
    201: json(ConnectedAccountSchema, "The new account"),
    ...errorResponses,
    402: errorResponse(402),
    403: errorResponse(403, {
      description:
        "The API key lacks accounts:write (INSUFFICIENT_SCOPE), or the workspace may not use the platform (PLATFORM_RESTRICTED)",
      message: "This API key lacks the accounts:write scope",
    }),
    ...platformErrorResponses,
  },
});

export const updateAccountCredentials = createRoute({
  operationId: "updateAccountCredentials",
  method: "post",
  path: "/{id}/credentials",
  tags,
  security: bearer("accounts:write"),
  summary: "Replace an account's credentials",
  description:
    "For an account connected without OAuth: a new Telegram bot token, Bluesky app password (the account's DID signs in unless identifier is given), WhatsApp token or bring-your-own access token. The platform verifies them first, and they must belong to the same platform user; then they are stored, the status is back to active, errors are cleared and account.connected is sent. Ids stored with the old credentials (phoneNumberId, chatId, pageId…) are kept unless given. A refusal (INVALID_PARAM) or an outage changes nothing. An OAuth account is reconnected instead (INVALID_PARAM).",
  request: { params: AccountIdParamsSchema, ...jsonBody(UpdateCredentialsBodySchema) },
  responses: {
    200: json(ConnectedAccountSchema, "The account, with its new credentials"),
    ...errorResponses,
    402: errorResponse(402),
    403: errorResponse(403, {
      description:
        "The API key lacks accounts:write (INSUFFICIENT_SCOPE), or the workspace may not use the platform (PLATFORM_RESTRICTED)",
      message: "This API key lacks the accounts:write scope",
    }),
    ...platformErrorResponses,
  },
});

export const testAccount = createRoute({
  operationId: "testAccount",
  method: "post",
  path: "/{id}/test",
  tags,
  security: bearer("accounts:write"),
  summary: "Test the connection",
  description:
    "A lightweight who-am-I call to the platform with the stored token. A definite refusal (a revoked token) breaks the account as a refused refresh does: status error (expired when the token is past its expiry), its error set, one account.error webhook. A transient failure changes nothing.",
  request: { params: AccountIdParamsSchema },
  responses: { 200: json(TestResultSchema, "Whether the platform accepted the token"), ...errorResponses },
});

export const refreshAccount = createRoute({
  operationId: "refreshAccount",
  method: "post",
  path: "/{id}/refresh",
  tags,
  security: bearer("accounts:write"),
  summary: "Refresh the token now",
  description:
    "Through the same code the cron uses, one refresh per account at a time: a refresh already running elsewhere is waited for and its result answered. REFRESH_FAILED (409) when the platform refuses; PROVIDER_ERROR (502) or RATE_LIMITED (429) when it is unavailable.",
  request: { params: AccountIdParamsSchema },
  responses: {
    200: json(RefreshResultSchema, "The token after the refresh"),
    ...errorResponses,
    409: errorResponse(409),
    ...platformErrorResponses,
  },
});

/** The credentials a body names, as the platform modules take them. */
function toCredentialsInput(given: Credentials): CredentialsInput {
  const { accessToken, refreshToken, expiresAt, botToken, identifier, appPassword, ...ids } = given;
  const extras = Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined));
  return {
    accessToken: accessToken ?? botToken,
    // Set only when the token came as botToken, so a refusal names the field the caller sent.
    botToken: accessToken === undefined ? botToken : undefined,
    refreshToken,
    expiresAt: expiresAt ? Date.parse(expiresAt) : undefined,
    identifier,
    password: appPassword,
    extras: Object.keys(extras).length ? extras : undefined,
  };
}

/** DELETE's two meanings: archive (the default, with its account.disconnected event) or erase. */
async function removeAccount(c: Context<AppEnv>, id: string, eraseIt = false) {
  const { workspaceId } = c.var.auth;
  if (eraseIt) await erase(serviceOf(c), workspaceId, id);
  else sendSoon(c, await disconnect(serviceOf(c), workspaceId, id));
}

export const accountsRouter = createRouter()
  .openapi(listAccounts, async (c) => {
    const { cursor, limit, includeTotal, ...filter } = c.req.valid("query");
    const beforeId = cursor ? decodeCursor(cursor, "acc") : undefined;
    const { workspaceId } = c.var.auth;
    const [rows, total] = await Promise.all([
      listAccountRows(c.var.db, workspaceId, { ...filter, beforeId }, limit),
      includeTotal ? countAccounts(c.var.db, workspaceId, filter) : undefined,
    ]);
    const { page, pagination } = paginate(rows, limit);
    return c.json(
      { data: page.map(toAccount), pagination: total === undefined ? pagination : { ...pagination, total } },
      200,
    );
  })
  .openapi(getAccountHealth, async (c) => {
    const { cursor, limit, platform } = c.req.valid("query");
    const now = Date.now();
    const beforeId = cursor ? decodeCursor(cursor, "acc") : undefined;
    const { page: rows, summary } = await accountHealthPage(
      c.var.db,
      c.var.auth.workspaceId,
      { platform, beforeId },
      limit,
      now,
    );
    const { page, pagination } = paginate(
      rows.map((r) => ({ id: r.account.id, ...r })),
      limit,
    );
    const counts = { total: 0, healthy: 0, warning: 0, error: 0 };
    for (const { health, count } of summary) {
      counts[health] += count;
      counts.total += count;
    }
    return c.json(
      { accounts: page.map((r) => toAccountHealth(r.account, r.health, now)), summary: counts, pagination },
      200,
    );
  })
  .openapi(getAccount, async (c) => {
    const row = await findAccountView(c.var.db, c.var.auth.workspaceId, c.req.valid("param").id);
    if (!row) throw notFound();
    return c.json(toAccount(row), 200);
  })
  .openapi(updateAccount, async (c) => {
    const { usage, ...body } = c.req.valid("json");
    const row = await updateAccountRow(
      c.var.db,
      c.var.auth.workspaceId,
      c.req.valid("param").id,
      { ...body, ...(usage !== undefined ? { usage: [...new Set(usage ?? [])] } : {}) },
      Date.now(),
    );
    if (!row) throw notFound();
    return c.json(toAccount(row), 200);
  })
  .openapi(deleteAccount, async (c) => {
    await removeAccount(c, c.req.valid("param").id, c.req.valid("query").erase);
    return c.json({ success: true as const }, 200);
  })
  .openapi(getAccountByPlatform, async (c) => {
    const { platform, platformAccountId } = c.req.valid("param");
    const row = await findAccountViewByPlatformUser(
      c.var.db,
      c.var.auth.workspaceId,
      platform,
      platformAccountId,
    );
    if (!row) throw notFound();
    return c.json(toAccount(row), 200);
  })
  .openapi(deleteAccountByPlatform, async (c) => {
    const { platform, platformAccountId } = c.req.valid("param");
    const id = await findAccountIdByPlatformUser(
      c.var.db,
      c.var.auth.workspaceId,
      platform,
      platformAccountId,
    );
    if (!id) throw notFound();
    await removeAccount(c, id, c.req.valid("query").erase);
    return c.json({ success: true as const }, 200);
  })
  .openapi(createAccount, async (c) => {
    const { credentials, ...rest } = c.req.valid("json");
    const service = serviceOf(c);
    const result = await connectWithCredentials(service, c.var.auth.workspaceId, {
      ...rest,
      credentials: toCredentialsInput(credentials),
    });
    sendSoon(c, result.deliveryIds);
    return c.json(toConnected(result), result.account.connectedAt === service.now ? 201 : 200);
  })
  .openapi(updateAccountCredentials, async (c) => {
    const result = await updateCredentials(
      serviceOf(c),
      c.var.auth.workspaceId,
      c.req.valid("param").id,
      toCredentialsInput(c.req.valid("json").credentials),
    );
    sendSoon(c, result.deliveryIds);
    return c.json(toConnected(result), 200);
  })
  .openapi(testAccount, async (c) => {
    const result = await testConnection(
      serviceOf(c),
      c.var.auth.workspaceId,
      c.req.valid("param").id,
      (ids) => sendSoon(c, ids),
    );
    return c.json(result, 200);
  })
  .openapi(refreshAccount, async (c) => {
    const outcome = await refreshNow(serviceOf(c), c.var.auth.workspaceId, c.req.valid("param").id, {
      providerTimeoutMs: c.var.timeouts.providerMs,
    });
    sendSoon(c, outcome.deliveryIds ?? []);
    if (outcome.kind === "refused") {
      throw new ApiError(
        "REFRESH_FAILED",
        `Refresh failed: ${outcome.error.message}. Reconnect the account.`,
      );
    }
    if (outcome.kind === "transient") throw providerFailure(outcome.error);
    return c.json(
      {
        success: true as const,
        refreshed: outcome.kind !== "not-refreshable",
        message: outcome.kind === "not-refreshable" ? outcome.reason : "Token refreshed",
        tokenExpiresAt: iso(outcome.account.tokenExpiresAt),
        account: toAccount(outcome.account),
      },
      200,
    );
  });
