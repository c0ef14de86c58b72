import { createRoute } from "@hono/zod-openapi";
import {
  bearer,
  createRouter,
  errorResponses,
  json,
  jsonBody,
  platformErrorResponses,
} from "../../lib/router";
import { AccountIdParamsSchema } from "../accounts/accounts.schemas";
import { toAccount } from "../accounts/accounts.service";
import { serviceOf } from "../context";
import { sendSoon } from "../webhooks/webhooks.service";
import { PageListSchema, SelectPageBodySchema, SelectPageResultSchema } from "./pages.schemas";
import { listPages, selectPage } from "./pages.service";

const tags = ["Accounts"];
const platformErrors = { ...errorResponses, ...platformErrorResponses };

export const listAccountPages = createRoute({
  operationId: "listAccountPages",
  method: "get",
  path: "/{id}/pages",
  tags,
  security: bearer("accounts:read"),
  summary: "List pages",
  description:
    "LinkedIn: the organisations the member administers. Instagram connected through Facebook Login: the Instagram business accounts linked to the user's Facebook Pages. Facebook: the Pages the user manages. Google Business Profile: every location of every Business Profile account the user manages. YouTube: the channels the Google account owns (its own and its brand accounts'). A LinkedIn account connected without pageMode answers an empty list with requiresReauth: true and a hint to reconnect with pageMode. Every other platform, and Instagram Direct Login accounts, answer an empty list.",
  request: { params: AccountIdParamsSchema },
  responses: { 200: json(PageListSchema, "The account's pages"), ...platformErrors },
});

export const selectAccountPage = createRoute({
  operationId: "selectAccountPage",
  method: "post",
  path: "/{id}/select-page",
  tags,
  security: bearer("accounts:write"),
  summary: "Select a page",
  description:
    "Persists the page later posts go to, after checking it against a fresh listing: INVALID_PAGE_ID (400) when it is not among the account's pages. Instagram (Facebook Login) stores the business account and its Page; Facebook stores the Page; in both the Page token, which does not expire, becomes the account's credential (tokenExpiresAt null; tokens encrypted, never answered). Google Business Profile stores the location and its account; YouTube stores the channel. A LinkedIn account connected without pageMode answers INVALID_PARAM: reconnect it with pageMode.",
  request: { params: AccountIdParamsSchema, ...jsonBody(SelectPageBodySchema) },
  responses: { 200: json(SelectPageResultSchema, "The account with its selected page"), ...platformErrors },
});

export const pagesRouter = createRouter()
  .openapi(listAccountPages, async (c) => {
    const list = await listPages(serviceOf(c), c.var.auth.workspaceId, c.req.valid("param").id, (ids) =>
      sendSoon(c, ids),
    );
    return c.json(list, 200);
  })
  .openapi(selectAccountPage, async (c) => {
    const row = await selectPage(
      serviceOf(c),
      c.var.auth.workspaceId,
      c.req.valid("param").id,
      c.req.valid("json"),
      (ids) => sendSoon(c, ids),
    );
    return c.json({ success: true as const, account: toAccount(row) }, 200);
  });
