import { createRoute } from "@hono/zod-openapi";
import { decodeCursor } from "../../lib/cursor";
import { ApiError } from "../../lib/errors";
import { createRouter, errorResponses, json, jsonBody } from "../../lib/router";
import { requireScope } from "../auth/auth.middleware";
import {
  accountHealthPage,
  disconnectAccount,
  findAccount,
  listAccounts as listAccountRows,
  updateAccount as updateAccountRow,
} from "./accounts.repository";
import {
  AccountIdParamsSchema,
  AccountListSchema,
  AccountSchema,
  HealthQuerySchema,
  HealthReportSchema,
  ListAccountsQuerySchema,
  SuccessSchema,
  UpdateAccountBodySchema,
} from "./accounts.schemas";
import { paginate, toAccount, toAccountHealth } from "./accounts.service";

const tags = ["Accounts"];
const security = [{ bearer: [] }];
const notFound = () => new ApiError("NOT_FOUND", "Account not found");

export const listAccounts = createRoute({
  method: "get",
  path: "/",
  tags,
  security,
  summary: "List accounts",
  description:
    "Newest first. Disconnected accounts are left out unless includeArchived=true or status asks for them.",
  middleware: [requireScope("accounts:read")],
  request: { query: ListAccountsQuerySchema },
  responses: { 200: json(AccountListSchema, "A page of accounts"), ...errorResponses },
});

export const getAccountHealth = createRoute({
  method: "get",
  path: "/health",
  tags,
  security,
  summary: "Account health",
  description:
    "Per account: health, token validity, granted permissions, whether it needs a reconnect, and what to do. The summary counts every non-archived account of the workspace (within `platform` if given).",
  middleware: [requireScope("accounts:read")],
  request: { query: HealthQuerySchema },
  responses: { 200: json(HealthReportSchema, "Health of a page of accounts"), ...errorResponses },
});

export const getAccount = createRoute({
  method: "get",
  path: "/{id}",
  tags,
  security,
  summary: "Get an account",
  middleware: [requireScope("accounts:read")],
  request: { params: AccountIdParamsSchema },
  responses: { 200: json(AccountSchema, "The account"), ...errorResponses },
});

export const updateAccount = createRoute({
  method: "patch",
  path: "/{id}",
  tags,
  security,
  summary: "Rename an account or replace its metadata",
  middleware: [requireScope("accounts:write")],
  request: { params: AccountIdParamsSchema, ...jsonBody(UpdateAccountBodySchema) },
  responses: { 200: json(AccountSchema, "The updated account"), ...errorResponses },
});

export const deleteAccount = createRoute({
  method: "delete",
  path: "/{id}",
  tags,
  security,
  summary: "Disconnect an account",
  description: "Wipes stored credentials and archives the account (status disconnected). Idempotent.",
  middleware: [requireScope("accounts:write")],
  request: { params: AccountIdParamsSchema },
  responses: { 200: json(SuccessSchema, "Disconnected"), ...errorResponses },
});

export const accountsRouter = createRouter()
  .openapi(listAccounts, async (c) => {
    const { cursor, limit, ...filter } = c.req.valid("query");
    const beforeId = cursor ? decodeCursor(cursor, "acc") : undefined;
    const rows = await listAccountRows(c.var.db, c.var.auth.workspaceId, { ...filter, beforeId }, limit);
    const { page, pagination } = paginate(rows, limit);
    return c.json({ data: page.map(toAccount), pagination }, 200);
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
    const row = await findAccount(c.var.db, c.var.auth.workspaceId, c.req.valid("param").id);
    if (!row) throw notFound();
    return c.json(toAccount(row), 200);
  })
  .openapi(updateAccount, async (c) => {
    const body = c.req.valid("json");
    const row = await updateAccountRow(
      c.var.db,
      c.var.auth.workspaceId,
      c.req.valid("param").id,
      body,
      Date.now(),
    );
    if (!row) throw notFound();
    return c.json(toAccount(row), 200);
  })
  .openapi(deleteAccount, async (c) => {
    const row = await disconnectAccount(
      c.var.db,
      c.var.auth.workspaceId,
      c.req.valid("param").id,
      Date.now(),
    );
    if (!row) throw notFound();
    return c.json({ success: true as const }, 200);
  });
