import { Scalar } from "@scalar/hono-api-reference";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { createDb } from "./db/client";
import { accountsRouter } from "./features/accounts/accounts.routes";
import { adminRouter } from "./features/admin/admin.routes";
import { analyticsRouter } from "./features/analytics/analytics.routes";
import { apiKeyAuth } from "./features/auth/auth.middleware";
import { blueskyClientRouter } from "./features/connect/bluesky-client.routes";
import { connectRouter, oauthRouter } from "./features/connect/connect.routes";
import { instagramAudioRouter, playlistsRouter } from "./features/media/media.routes";
import { pagesRouter } from "./features/pages/pages.routes";
import { hostedRouter } from "./features/sessions/hosted.routes";
import { sessionsRouter } from "./features/sessions/sessions.routes";
import { usersRouter } from "./features/users/users.routes";
import { webhooksRouter } from "./features/webhooks/webhooks.routes";
import { EVENT_SCHEMAS, WebhookDeliveryHeadersSchema } from "./features/webhooks/webhooks.schemas";
import { ConfigError } from "./lib/config";
import { toBase64Url } from "./lib/encoding";
import { ApiError, type ErrorCode, errorBody } from "./lib/errors";
import { newId } from "./lib/ids";
import { type AppEnv, createRouter } from "./lib/router";
import { DEFAULT_TIMEOUTS, type Timeouts } from "./lib/timeouts";
import { sandboxRouter } from "./platforms/sandbox/sandbox.routes";

const HTTP_CODES: Record<number, ErrorCode> = {
  400: "INVALID_PARAM",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  413: "INVALID_PARAM",
  429: "RATE_LIMITED",
};

const BOOKMARK_HEADER = "x-d1-bookmark";
const BOOKMARK_PATTERN = /^[0-9a-f-]{8,128}$/i;

/** The reference's script, from the Worker's static assets (public/, see scripts/docs-assets.mjs). */
const DOCS_SCRIPT = "/docs/scalar.js";

/**
 * The reference page loads nothing from another origin: scripts are ours or carry the page's nonce.
 * Styles allow 'unsafe-inline' because the reference sets style attributes, which no nonce covers.
 */
const docsPolicy = (nonce: string) =>
  [
    "default-src 'none'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");

/** The document's own fields; the routes, components and webhooks come from the app's registry. */
export const OPENAPI_CONFIG = {
  openapi: "3.1.0",
  info: {
    title: "Switchboard Accounts API",
    version: "1.0.0",
    description:
      "Connect your users' social accounts, keep their tokens alive, and learn at once when one breaks.",
    license: { name: "MIT", url: "https://opensource.org/license/mit" },
  },
  // Relative: every deployment serves its own document, so its origin is the API's.
  servers: [{ url: "/", description: "The deployment serving this document" }],
  tags: [
    { name: "Accounts", description: "Connected social accounts, their tokens and their health" },
    { name: "Connect", description: "Connecting an account through the platform's OAuth flow" },
    { name: "Connect sessions", description: "Hosted connect links for your end users" },
    { name: "Analytics", description: "Engagement backfill and the best times to post" },
    { name: "Instagram", description: "Instagram-only reads" },
    { name: "Users", description: "The calling user" },
    { name: "Webhooks", description: "Endpoints that receive signed account events" },
    { name: "Events", description: "What each webhook delivery sends, by event type" },
    { name: "Admin", description: "Workspaces and API keys, with the deployment's ADMIN_TOKEN" },
  ],
} satisfies Parameters<ReturnType<typeof createRouter>["getOpenAPI31Document"]>[0];

/** The Worker's app; `timeouts` bound its KV and platform calls (tests set them small). */
export function createApp(timeouts: Partial<Timeouts> = {}) {
  const app = createRouter();
  const bounds: Timeouts = { ...DEFAULT_TIMEOUTS, ...timeouts };

  app.use(
    requestId({
      headerName: "x-request-id",
      generator: () => newId("req"),
    }),
  );
  // The request's storage: D1 Sessions (reads may go to a nearby replica; a client that sends back
  // the bookmark it was given reads at least its own writes; writes start at the primary), and the
  // bounds on its KV and platform calls.
  app.use(async (c, next) => {
    const bookmark = c.req.header(BOOKMARK_HEADER);
    if (bookmark !== undefined && !BOOKMARK_PATTERN.test(bookmark)) {
      throw new ApiError("INVALID_PARAM", `Invalid ${BOOKMARK_HEADER} header`, [
        { field: BOOKMARK_HEADER, message: "Pass back a bookmark this API returned" },
      ]);
    }
    const read = c.req.method === "GET" || c.req.method === "HEAD";
    const session = c.env.DB.withSession(bookmark ?? (read ? "first-unconstrained" : "first-primary"));
    c.set("db", createDb(session));
    c.set("timeouts", bounds);
    await next();
    const latest = session.getBookmark();
    if (latest) c.header(BOOKMARK_HEADER, latest);
  });

  app.get("/healthz", (c) => c.json({ ok: true }, 200));

  app.use("/v1/accounts", apiKeyAuth);
  app.use("/v1/accounts/*", apiKeyAuth);
  app.route("/v1/accounts", accountsRouter);
  app.route("/v1/accounts", connectRouter);
  app.route("/v1/accounts", pagesRouter);
  app.route("/v1/accounts", playlistsRouter);
  app.route("/v1/accounts", analyticsRouter);
  app.use("/v1/instagram/*", apiKeyAuth);
  app.route("/v1/instagram", instagramAudioRouter);
  app.use("/v1/users/*", apiKeyAuth);
  app.route("/v1/users", usersRouter);
  app.route("/v1/oauth", oauthRouter);
  app.route("/v1/oauth/bluesky", blueskyClientRouter);
  app.use("/v1/connect/*", apiKeyAuth);
  app.route("/v1/connect/sessions", sessionsRouter);
  app.route("/connect", hostedRouter);
  app.use("/v1/webhooks", apiKeyAuth);
  app.use("/v1/webhooks/*", apiKeyAuth);
  app.route("/v1/webhooks", webhooksRouter);
  app.route("/v1/admin", adminRouter);
  app.route("/sandbox", sandboxRouter);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "An API key: `swb_live_…` (or `swb_test_…` for sandbox workspaces)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "admin", {
    type: "http",
    scheme: "bearer",
    description: "The deployment's ADMIN_TOKEN",
  });
  for (const [type, schema] of Object.entries(EVENT_SCHEMAS)) {
    app.openAPIRegistry.registerWebhook({
      method: "post",
      path: type,
      operationId: `${type.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase())}Event`,
      tags: ["Events"],
      security: [],
      summary: type,
      description: schema.description ?? type,
      request: {
        headers: WebhookDeliveryHeadersSchema,
        body: { content: { "application/json": { schema } }, required: true },
      },
      responses: {
        200: {
          description:
            "Any 2xx acknowledges the delivery; another status or no answer within 15 s is retried with backoff, and 410 disables the endpoint",
        },
      },
    });
  }
  app.doc31("/v1/openapi.json", OPENAPI_CONFIG);
  app.get("/docs", (c, next) => {
    const nonce = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
    c.header("Content-Security-Policy", docsPolicy(nonce));
    const reference = Scalar<AppEnv>({
      url: "/v1/openapi.json",
      pageTitle: "Switchboard API reference",
      cdn: DOCS_SCRIPT,
      nonce,
      withDefaultFonts: false,
    });
    return reference(c, next);
  });

  // Every error envelope names the request id, the same value as the x-request-id header.
  app.notFound((c) => c.json(errorBody(new ApiError("NOT_FOUND", "Route not found"), c.var.requestId), 404));

  app.onError((err, c) => {
    const id = c.var.requestId;
    if (err instanceof ApiError) {
      return c.json(errorBody(err, id), err.status, err.headers);
    }
    if (err instanceof HTTPException && err.status < 500) {
      const code = HTTP_CODES[err.status] ?? "INVALID_PARAM";
      const message =
        err.status === 415 ? "Content-Type must be application/json" : err.message || "Bad request";
      const apiError = new ApiError(code, message);
      return c.json(errorBody(apiError, id), apiError.status);
    }
    // Only the error's class and message are logged: request bodies and headers may hold secrets.
    console.error(
      JSON.stringify({
        level: "error",
        requestId: id,
        error: err.name,
        message: err instanceof ConfigError ? err.message : err.message.slice(0, 300),
        path: c.req.path,
      }),
    );
    return c.json(errorBody(new ApiError("INTERNAL", "Internal error"), id), 500);
  });

  return app;
}
