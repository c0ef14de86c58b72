import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import {
  bearer,
  createRouter,
  errorResponse,
  errorResponses,
  json,
  jsonBody,
  platformErrorResponses,
} from "../../lib/router";
import { STORAGE_RETRY_AFTER_SECONDS } from "../../lib/timeouts";
import { AccountIdParamsSchema, ConnectedAccountSchema } from "../accounts/accounts.schemas";
import { toConnected } from "../accounts/upsert.service";
import { serviceOf } from "../context";
import { sendSoon } from "../webhooks/webhooks.service";
import {
  AuthorizationSchema,
  CallbackBodySchema,
  ConnectBodySchema,
  EmbeddedSignupBodySchema,
  PlatformParamsSchema,
  ReconnectBodySchema,
  RedirectQuerySchema,
} from "./connect.schemas";
import {
  completeCallback,
  completeEmbeddedSignup,
  redirectTarget,
  startConnect,
  startReconnect,
} from "./connect.service";

const tags = ["Connect"];
const retryAfter = {
  "Retry-After": {
    description: "Seconds to wait before trying again",
    schema: { type: "integer", minimum: 0 },
  },
} as const;
const security = bearer("accounts:write");
const oauthErrors = {
  ...errorResponses,
  400: errorResponse(400, {
    description:
      "The request is invalid (INVALID_PARAM, details naming each field), the OAuth state or code is invalid or expired (INVALID_PARAM), the user pressed Deny on the platform's consent screen (ACCESS_DENIED: pass the redirect's error and state instead of a code), or the deployment has no app for the platform (PLATFORM_NOT_CONFIGURED)",
  }),
  403: errorResponse(403, {
    description:
      "The API key lacks accounts:write (INSUFFICIENT_SCOPE), or the workspace may not use the platform (PLATFORM_RESTRICTED)",
    message: "This API key lacks the accounts:write scope",
  }),
  ...platformErrorResponses,
  503: {
    ...errorResponse(503, {
      description:
        "OAuth state storage failed or was too slow (STORAGE_UNAVAILABLE): retry after Retry-After",
      code: "STORAGE_UNAVAILABLE",
      message: "OAuth state storage is unavailable; try again shortly",
    }),
    headers: retryAfter,
  },
};
/** Connecting a new account takes room in the plan; a reconnect keeps its account's. */
const connectErrors = { ...oauthErrors, 402: errorResponse(402) };

export const connectAccount = createRoute({
  operationId: "connectAccount",
  method: "post",
  path: "/connect/{platform}",
  tags,
  security,
  summary: "Start connecting an account",
  description:
    "Answers an authorization URL to send the user to. The state is single-use and expires in ten minutes. PLATFORM_RESTRICTED (403) when the workspace may not use the platform; PLAN_LIMIT_EXCEEDED (402) when it has no room; PLATFORM_NOT_CONFIGURED (400) when the deployment has no app for it.",
  request: { params: PlatformParamsSchema, ...jsonBody(ConnectBodySchema) },
  responses: { 200: json(AuthorizationSchema, "Where to send the user"), ...connectErrors },
});

export const completeOAuthCallback = createRoute({
  operationId: "completeOAuthCallback",
  method: "post",
  path: "/callback/{platform}",
  tags,
  security,
  summary: "Finish connecting: exchange the code",
  description:
    "Consumes the state exactly once, exchanges the code, reads the profile and upserts the account. Reconnecting an account refreshes its tokens and clears its errors. `warning` is set when another workspace holds the same account.",
  request: { params: PlatformParamsSchema, ...jsonBody(CallbackBodySchema) },
  responses: { 200: json(ConnectedAccountSchema, "The connected account"), ...connectErrors },
});

export const completeWhatsAppEmbeddedSignup = createRoute({
  operationId: "completeWhatsAppEmbeddedSignup",
  method: "post",
  path: "/connect/whatsapp/embedded-signup",
  tags,
  security,
  summary: "Connect WhatsApp from Embedded Signup run on your page",
  description:
    "For Embedded Signup launched with Meta's JavaScript SDK (FB.login with your configuration) on your own page, whose code never passes a redirect URI: exchanges the code, connects the WhatsApp Business Account it shared and subscribes the app to its webhooks, as the callback does for POST /v1/accounts/connect/whatsapp. wabaId and phoneNumberId from the WA_EMBEDDED_SIGNUP message are checked against what the signup shared; a phoneNumberId, or a WABA with one number, is selected.",
  request: jsonBody(EmbeddedSignupBodySchema),
  responses: { 200: json(ConnectedAccountSchema, "The connected account"), ...connectErrors },
});

export const reconnectAccount = createRoute({
  operationId: "reconnectAccount",
  method: "post",
  path: "/{id}/reconnect",
  tags,
  security,
  summary: "Reconnect an account",
  description:
    "A new authorization URL bound to this account: the callback must return the same platform user.",
  request: { params: AccountIdParamsSchema, ...jsonBody(ReconnectBodySchema) },
  responses: { 200: json(AuthorizationSchema, "Where to send the user"), ...oauthErrors },
});

export const oauthRedirect = createRoute({
  operationId: "oauthRedirect",
  method: "get",
  path: "/redirect/{platform}",
  tags,
  security: [],
  summary: "The redirect URI registered with each platform",
  description:
    "Public. Forwards code and state (or error and state) to the callbackUrl given at connect. An unknown or expired state gets a plain error page and no redirect.",
  request: { params: PlatformParamsSchema, query: RedirectQuerySchema },
  responses: {
    302: { description: "To the callbackUrl" },
    400: {
      description:
        "Unknown or expired state: a page for the user (text/html); an unknown platform or a malformed query: the error envelope",
      content: {
        "text/html": { schema: z.string() },
        "application/json": errorResponse(400).content["application/json"],
      },
    },
    503: {
      description: "OAuth state storage failed or was too slow: reload shortly",
      content: { "text/html": { schema: z.string() } },
      headers: retryAfter,
    },
  },
});

export const connectRouter = createRouter()
  .openapi(connectAccount, async (c) => {
    const result = await startConnect(
      serviceOf(c),
      c.var.auth,
      c.req.valid("param").platform,
      c.req.valid("json"),
    );
    return c.json(result, 200);
  })
  .openapi(completeOAuthCallback, async (c) => {
    const result = await completeCallback(
      serviceOf(c),
      c.var.auth,
      c.req.valid("param").platform,
      c.req.valid("json"),
    );
    sendSoon(c, result.deliveryIds);
    return c.json(toConnected(result), 200);
  })
  .openapi(completeWhatsAppEmbeddedSignup, async (c) => {
    const result = await completeEmbeddedSignup(serviceOf(c), c.var.auth, c.req.valid("json"));
    sendSoon(c, result.deliveryIds);
    return c.json(toConnected(result), 200);
  })
  .openapi(reconnectAccount, async (c) => {
    const result = await startReconnect(
      serviceOf(c),
      c.var.auth,
      c.req.valid("param").id,
      c.req.valid("json"),
    );
    return c.json(result, 200);
  });

const EXPIRED_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Link expired</title></head><body style="font-family:system-ui;max-width:32rem;margin:4rem auto"><h1>This sign-in link has expired</h1><p>The connection request is unknown or older than ten minutes. Go back to the app and start connecting again.</p></body></html>`;

const UNAVAILABLE_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Try again</title></head><body style="font-family:system-ui;max-width:32rem;margin:4rem auto"><h1>Something went wrong on our side</h1><p>We could not look up this connection request just now. Reload this page in a few seconds.</p></body></html>`;

export const oauthRouter = createRouter().openapi(oauthRedirect, async (c) => {
  let target: string | undefined;
  try {
    target = await redirectTarget(
      serviceOf(c),
      c.req.valid("param").platform,
      new URL(c.req.url).searchParams,
    );
  } catch (err) {
    // A person is looking at this page: say so in a page, not an error envelope.
    if (err instanceof ApiError && err.code === "STORAGE_UNAVAILABLE")
      return c.html(UNAVAILABLE_PAGE, 503, {
        "cache-control": "no-store",
        "retry-after": String(STORAGE_RETRY_AFTER_SECONDS),
      });
    throw err;
  }
  if (!target) return c.html(EXPIRED_PAGE, 400, { "cache-control": "no-store" });
  return c.redirect(target, 302);
});
