import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { createDb } from "../../db/client";
import type { ConnectSessionRow } from "../../db/schema";
import { PLATFORMS, type Platform } from "../../lib/domain";
import { type AppEnv, createRouter } from "../../lib/router";
import { TIKTOK_BUSINESS } from "../../platforms/tiktok";
import { EMBEDDED_SIGNUP } from "../../platforms/whatsapp";
import { findAccount } from "../accounts/accounts.repository";
import { type ServiceContext, serviceOf } from "../context";
import { sendSoon } from "../webhooks/webhooks.service";
import { SCRIPT, STYLE } from "./hosted.assets";
import {
  choosePage,
  formPage,
  needsForm,
  PAGE_HEADERS,
  pagesPage,
  type ResultView,
  resultPage,
} from "./hosted.page";
import {
  CREDENTIAL_PLATFORMS,
  chooseSessionPage,
  completeSessionCallback,
  connectSessionCredentials,
  HostedError,
  offeredPlatforms,
  offeredVariants,
  sessionOfToken,
  sessionPages,
  startSessionPlatform,
} from "./sessions.service";

type C = Context<AppEnv>;

const ASSET_HEADERS = { "cache-control": "public, max-age=3600", "x-content-type-options": "nosniff" };
/** Platforms whose step 3 picks a page (Instagram only when connected through Facebook Login: it lists none otherwise). */
const WITH_PAGES: readonly Platform[] = ["linkedin", "facebook", "instagram", "youtube", "whatsapp"];

const platformOf = (value: string | undefined): Platform | undefined =>
  (PLATFORMS as readonly string[]).includes(value ?? "") ? (value as Platform) : undefined;

const html = (c: C, body: string, status: 200 | 400 | 404 = 200) => c.body(body, status, PAGE_HEADERS);
const see = (c: C, location: string) => c.body(null, 303, { location, "cache-control": "no-store" });
const base = (token: string) => `/connect/${token}`;

/** Where the result goes: the returnUrl with its parameters, and the popup's target origin. */
function destinations(row: ConnectSessionRow, params: Record<string, string | undefined>) {
  let returnUrl: string | null = null;
  if (row.returnUrl) {
    const url = new URL(row.returnUrl);
    for (const [name, value] of Object.entries(params))
      if (value !== undefined) url.searchParams.set(name, value);
    returnUrl = url.toString();
  }
  const targetOrigin = row.origin ?? (row.returnUrl ? new URL(row.returnUrl).origin : null);
  return { returnUrl, targetOrigin };
}

/** The result screen of a failure; the session's own links when it has one. */
function failurePage(
  c: C,
  err: HostedError,
  row: ConnectSessionRow | null,
  token: string,
  platform: Platform | null,
) {
  const error = { code: err.code, message: err.message };
  const view: ResultView = { status: "error", platform, error };
  if (row) {
    const params = { status: "error", error: err.code, endUserId: row.endUserId, sessionId: row.id };
    Object.assign(view, destinations(row, params), {
      retryUrl: err.retry ? base(token) : null,
      message: {
        type: "switchboard:connect",
        ...params,
        ...(platform ? { platform } : {}),
        message: err.message,
      },
    });
  }
  return html(c, resultPage(view), err.code === "SESSION_NOT_FOUND" ? 404 : 400);
}

async function withSession(
  c: C,
  run: (service: ServiceContext, row: ConnectSessionRow, token: string) => Promise<Response>,
): Promise<Response> {
  const token = c.req.param("token") ?? "";
  const service = serviceOf(c);
  let row: ConnectSessionRow | null = null;
  try {
    row = await sessionOfToken(service, token);
    return await run(service, row, token);
  } catch (err) {
    if (!(err instanceof HostedError)) throw err;
    return failurePage(c, err, row, token, platformOf(c.req.param("platform")) ?? null);
  }
}

/** The result screen from the session's stored outcome. */
async function donePage(c: C, service: ServiceContext, row: ConnectSessionRow, token: string) {
  if (row.status === "completed" && row.accountId) {
    const account = await findAccount(service.db, row.workspaceId, row.accountId);
    const params = {
      status: "success",
      accountId: row.accountId,
      endUserId: row.endUserId,
      sessionId: row.id,
    };
    return html(
      c,
      resultPage({
        status: "success",
        platform: account?.platform ?? null,
        who: account?.username ?? account?.displayName ?? null,
        page: account?.selectedPageName ?? null,
        ...destinations(row, params),
        message: { type: "switchboard:connect", ...params, platform: account?.platform },
      }),
    );
  }
  if (service.now >= row.expiresAt) throw new HostedError("SESSION_EXPIRED", "expired", false);
  if (row.status === "failed") {
    const code = row.errorCode ?? "INTERNAL";
    const retry = !["PLAN_LIMIT_EXCEEDED", "PLATFORM_RESTRICTED", "PLATFORM_NOT_CONFIGURED"].includes(code);
    return failurePage(c, new HostedError(code, row.errorMessage ?? "", retry), row, token, row.platform);
  }
  return see(c, base(token));
}

/** After a completion: the page picker where the platform has pages, else the result. */
function afterConnect(c: C, token: string, platform: Platform) {
  return see(c, `${base(token)}/${WITH_PAGES.includes(platform) ? "pages" : "done"}`);
}

const text = (body: Record<string, unknown>, name: string) =>
  typeof body[name] === "string" ? (body[name] as string).trim().slice(0, 8192) : undefined;

/**
 * A person's next page must see what the previous one wrote, and a browser sends back no bookmark:
 * every page reads the primary, never a replica.
 */
const onPrimary = createMiddleware<AppEnv>(async (c, next) => {
  c.set("db", createDb(c.env.DB.withSession("first-primary")));
  await next();
});

/** The hosted connect page, mounted at /connect: public, its link's token being the credential. */
export const hostedRouter = createRouter()
  .use("/:token", onPrimary)
  .use("/:token/*", onPrimary)
  .get("/assets/connect.css", (c) =>
    c.body(STYLE, 200, { "content-type": "text/css; charset=UTF-8", ...ASSET_HEADERS }),
  )
  .get("/assets/connect.js", (c) =>
    c.body(SCRIPT, 200, { "content-type": "text/javascript; charset=UTF-8", ...ASSET_HEADERS }),
  )
  .get("/:token", (c) =>
    withSession(c, async (service, row, token) => {
      if (row.status === "completed") return see(c, `${base(token)}/done`);
      if (service.now >= row.expiresAt) throw new HostedError("SESSION_EXPIRED", "expired", false);
      const { platforms } = await offeredPlatforms(service, row);
      const reconnect = row.reconnectAccountId ? (row.allowedPlatforms?.[0] ?? null) : null;
      // A reconnect keeps its account's flow, so it offers no choice of login.
      const offered = reconnect ? {} : offeredVariants(service.env, service.now);
      return html(
        c,
        choosePage({
          base: base(token),
          endUserName: row.endUserName,
          platforms: platforms.map((platform) => ({ platform, form: needsForm(platform, offered) })),
          reconnect,
        }),
      );
    }),
  )
  .get("/:token/with/:platform", (c) =>
    withSession(c, async (service, row, token) => {
      const platform = platformOf(c.req.param("platform"));
      const { platforms } = await offeredPlatforms(service, row);
      const offered = row.reconnectAccountId ? {} : offeredVariants(service.env, service.now);
      if (!platform || !platforms.includes(platform) || !needsForm(platform, offered))
        throw new HostedError("PLATFORM_NOT_OFFERED", "platform", true);
      if (row.status === "completed") return see(c, `${base(token)}/done`);
      return html(c, formPage(base(token), platform, offered));
    }),
  )
  .post("/:token/start", (c) =>
    withSession(c, async (service, row, token) => {
      const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const platform = platformOf(text(body, "platform"));
      if (!platform) throw new HostedError("PLATFORM_NOT_OFFERED", "platform", true);
      const embeddedSignup = platform === "whatsapp" && text(body, "login") === EMBEDDED_SIGNUP;
      if (CREDENTIAL_PLATFORMS.includes(platform) && !embeddedSignup) {
        const fields = Object.fromEntries(Object.keys(body).map((name) => [name, text(body, name)]));
        try {
          const result = await connectSessionCredentials(service, row, platform, fields);
          sendSoon(c, result.deliveryIds);
          return afterConnect(c, token, platform);
        } catch (err) {
          if (err instanceof HostedError && !err.code.startsWith("SESSION_"))
            return see(c, `${base(token)}/done`);
          throw err;
        }
      }
      const instance = text(body, "instance");
      const handle = text(body, "handle");
      try {
        const url = await startSessionPlatform(service, row, token, {
          platform,
          ...(instance !== undefined ? { instance } : {}),
          ...(handle ? { handle } : {}),
          facebookLogin: platform === "instagram" && text(body, "login") === "facebook",
          tiktokBusiness: platform === "tiktok" && text(body, "login") === TIKTOK_BUSINESS,
        });
        return c.body(null, 303, {
          location: url,
          "cache-control": "no-store",
          "referrer-policy": "no-referrer",
        });
      } catch (err) {
        if (
          err instanceof HostedError &&
          !err.code.startsWith("SESSION_") &&
          err.code !== "PLATFORM_NOT_OFFERED"
        )
          return see(c, `${base(token)}/done`);
        throw err;
      }
    }),
  )
  .get("/:token/callback/:platform", (c) =>
    withSession(c, async (service, row, token) => {
      const platform = platformOf(c.req.param("platform"));
      if (!platform) throw new HostedError("PLATFORM_NOT_OFFERED", "platform", true);
      try {
        const result = await completeSessionCallback(service, row, platform, new URL(c.req.url).searchParams);
        sendSoon(c, result.deliveryIds);
        return afterConnect(c, token, platform);
      } catch (err) {
        // A recorded failure is shown from the session, so a reload shows it again instead of replaying.
        if (err instanceof HostedError && !err.code.startsWith("SESSION_"))
          return see(c, `${base(token)}/done`);
        throw err;
      }
    }),
  )
  .get("/:token/pages", (c) =>
    withSession(c, async (service, row, token) => {
      if (row.status !== "completed") return see(c, `${base(token)}/done`);
      const account = row.accountId
        ? await findAccount(service.db, row.workspaceId, row.accountId)
        : undefined;
      if (!account || !WITH_PAGES.includes(account.platform)) return see(c, `${base(token)}/done`);
      let pages: Awaited<ReturnType<typeof sessionPages>>["pages"];
      try {
        ({ pages } = await sessionPages(service, row));
      } catch (err) {
        if (err instanceof HostedError) throw err;
        // The account is connected either way; its page can be chosen later through the API.
        return see(c, `${base(token)}/done`);
      }
      // A Google account with one channel, or a WABA with one number (selected at connect), has nothing to choose.
      if (
        !pages.length ||
        ((account.platform === "youtube" || account.platform === "whatsapp") && pages.length < 2)
      )
        return see(c, `${base(token)}/done`);
      const choices = pages.map((page) => ({
        id: page.type === "instagram" ? page.pageId : page.id,
        name: page.name,
        avatarUrl: "logoUrl" in page ? page.logoUrl : "avatarUrl" in page ? (page.avatarUrl ?? null) : null,
      }));
      return html(c, pagesPage(base(token), account.platform, choices));
    }),
  )
  .post("/:token/pages", (c) =>
    withSession(c, async (service, row, token) => {
      const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const pageId = text(body, "pageId");
      if (pageId) await chooseSessionPage(service, row, pageId);
      return see(c, `${base(token)}/done`);
    }),
  )
  .get("/:token/done", (c) => withSession(c, (service, row, token) => donePage(c, service, row, token)));
