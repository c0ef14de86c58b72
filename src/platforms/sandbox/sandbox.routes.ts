import { type Context, Hono } from "hono";
import { ConfigError, getConfig } from "../../lib/config";
import { PLATFORMS, type Platform } from "../../lib/domain";
import { ApiError, errorBody } from "../../lib/errors";
import { timedFetch } from "../http";
import { MODULES } from "../modules";
import { handleApi } from "./sandbox.api";
import { avatarSvg } from "./sandbox.page";
import { authorizePage, decide, oauthError, revoke, token } from "./sandbox.service";

type SandboxEnv = { Bindings: Env };

/** Whether the sandbox answers at all: SANDBOX_PROVIDERS=true, and never in production. */
export function sandboxServing(env: Env): boolean {
  return getConfig(env).sandbox;
}

/**
 * Exactly the app's own 404, request id included when mounted in the app, so a deployment without
 * the sandbox does not reveal it.
 */
const notFound = (c: Context) =>
  c.json(errorBody(new ApiError("NOT_FOUND", "Route not found"), c.get("requestId")), 404);

function platformOf(value: string | undefined): Platform | undefined {
  return (PLATFORMS as readonly string[]).includes(value ?? "") ? (value as Platform) : undefined;
}

/** A form body (token and revocation endpoints); undefined when the body is not form-encoded. */
async function formOf(request: Request): Promise<URLSearchParams | undefined> {
  if (!request.headers.get("content-type")?.includes("application/x-www-form-urlencoded")) return undefined;
  return new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
}

/** A form-encoded OAuth endpoint (token, revoke): the platform's own refusal unless the body is a form. */
const formEndpoint = (answer: typeof token) => async (c: Context<SandboxEnv>) => {
  const platform = platformOf(c.req.param("platform"));
  if (!platform) return notFound(c);
  const form = await formOf(c.req.raw);
  if (!form)
    return oauthError(platform, 400, "invalid_request", "The body must be application/x-www-form-urlencoded");
  return answer(c.env, platform, c.req.raw.headers, form, Date.now());
};

/**
 * The built-in sandbox provider for every platform, mounted at /sandbox (see sandboxApp):
 * `/:platform/authorize` (GET consent page, POST decision), `/:platform/token`, `/:platform/revoke`,
 * `/:platform/api/*` (who-am-I and related calls), `/:platform/avatar/:file`. 404 unless sandboxServing.
 */
export const sandboxRouter = new Hono<SandboxEnv>()
  .use("*", async (c, next) => {
    if (!sandboxServing(c.env)) return notFound(c);
    await next();
  })
  .get("/:platform/authorize", async (c) => {
    const platform = platformOf(c.req.param("platform"));
    if (!platform) return notFound(c);
    return authorizePage(c.env, platform, new URL(c.req.url).searchParams, Date.now());
  })
  .post("/:platform/authorize", async (c) => {
    const platform = platformOf(c.req.param("platform"));
    if (!platform) return notFound(c);
    const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const text = (name: string) => (typeof body[name] === "string" ? (body[name] as string) : undefined);
    return decide(
      c.env,
      platform,
      { request: text("request"), decision: text("decision"), username: text("username") },
      Date.now(),
    );
  })
  .post("/:platform/token", formEndpoint(token))
  .post("/:platform/revoke", formEndpoint(revoke))
  .all("/:platform/api/*", async (c) => {
    const platform = platformOf(c.req.param("platform"));
    if (!platform) return notFound(c);
    const pathname = new URL(c.req.url).pathname;
    const marker = `/sandbox/${platform}/api`;
    const at = pathname.indexOf(marker);
    const path = at < 0 ? "/" : pathname.slice(at + marker.length);
    return handleApi(c.env, platform, c.req.raw, path, Date.now());
  })
  .get("/:platform/avatar/:file", (c) => {
    const platform = platformOf(c.req.param("platform"));
    const file = c.req.param("file");
    if (!platform || !file.endsWith(".svg")) return notFound(c);
    return c.body(avatarSvg(file, MODULES[platform].name.charAt(0)), 200, {
      "content-type": "image/svg+xml",
      "cache-control": "public, max-age=86400",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
    });
  });

/** The sandbox on its own, at its public paths (/sandbox/…): what sandboxFetch dispatches to in-process. */
export const sandboxApp = new Hono<SandboxEnv>()
  .route("/sandbox", sandboxRouter)
  .notFound(notFound)
  .onError((err, c) => {
    // Only the error's class and message: requests to a provider carry tokens.
    console.error(
      JSON.stringify({
        level: "error",
        event: "sandbox_error",
        error: err.name,
        message: err instanceof ConfigError ? err.message : err.message.slice(0, 300),
      }),
    );
    return c.json(errorBody(new ApiError("INTERNAL", "Internal error")), 500);
  });

function urlOf(input: RequestInfo | URL): URL | undefined {
  try {
    return new URL(input instanceof Request ? input.url : input.toString());
  } catch {
    return undefined;
  }
}

/**
 * ctx.fetch while the sandbox is on: `${PUBLIC_URL}/sandbox/…` is answered in-process by sandboxApp
 * (a Worker cannot fetch its own workers.dev URL); any other URL goes to `fallback`.
 */
export function sandboxFetch(env: Env, fallback: typeof fetch = timedFetch()): typeof fetch {
  const origin = getConfig(env).publicUrl;
  return async (input, init) => {
    const url = urlOf(input);
    if (!url || url.origin !== origin || !url.pathname.startsWith("/sandbox/")) return fallback(input, init);
    return sandboxApp.fetch(new Request(input, init), env);
  };
}
