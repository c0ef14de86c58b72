import { OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { createMiddleware } from "hono/factory";
import type { MiddlewareHandler } from "hono/types";
import { SCOPES, type Scope } from "./domain";
import { ApiError, type ERROR_STATUS, type ErrorCode, ErrorSchema, validationError } from "./errors";
import type { Timeouts } from "./timeouts";

export interface AuthContext {
  keyId: string;
  workspaceId: string;
  userId: string;
  scopes: readonly Scope[];
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** src/db/client's Db, spelled from drizzle itself so that lib imports nothing of ours. */
    db: DrizzleD1Database & { $client: D1Database };
    auth: AuthContext;
    /** The bounds this request puts on KV and platform calls (createApp's, DEFAULT_TIMEOUTS unless a test sets them). */
    timeouts: Timeouts;
  };
}

/** The query of a route that declares none: any parameter is unknown. */
const NO_QUERY = z.object({}).strict();

/**
 * Unknown query parameters are refused like unknown body fields: a route's query schema is made
 * strict unless it says otherwise (`.loose()`, for parameters a platform appends to a redirect),
 * and a route without one takes no parameters.
 */
function withStrictQuery<R extends RouteConfig>(route: R): R {
  const query = route.request?.query as z.ZodObject | undefined;
  const strict = !query ? NO_QUERY : query._zod.def.catchall === undefined ? query.strict() : query;
  return { ...route, request: { ...route.request, query: strict } };
}

/** Default-deny: a key holds only the scopes it was issued with, and none implies another. */
export function requireScope(scope: Scope) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (!c.var.auth.scopes.includes(scope)) {
      throw new ApiError("INSUFFICIENT_SCOPE", `This API key lacks the ${scope} scope`);
    }
    await next();
  });
}

/**
 * An API-key route's security: `bearer("accounts:read")` documents the scope the route needs, and
 * the router enforces exactly that scope (withScopeCheck), so the document and the check are one.
 * `bearer()` is a key with any scope.
 */
export const bearer = (...scopes: Scope[]) => [{ bearer: scopes }];

/** Puts requireScope, for each scope the route's bearer security names, before its own middleware. */
function withScopeCheck<R extends RouteConfig>(route: R): R {
  const scopes = (route.security ?? []).flatMap((requirement) => requirement.bearer ?? []);
  if (!scopes.length) return route;
  for (const scope of scopes) {
    if (!(SCOPES as readonly string[]).includes(scope)) throw new Error(`Unknown scope ${scope}`);
  }
  const own = route.middleware === undefined ? [] : [route.middleware].flat();
  const middleware = [...scopes.map((scope) => requireScope(scope as Scope)), ...own] as MiddlewareHandler[];
  return { ...route, middleware };
}

/**
 * Every router formats validation failures as the one INVALID_PARAM envelope naming the field,
 * refuses unknown query parameters (withStrictQuery), and checks the scopes a route's security
 * declares (withScopeCheck).
 */
export function createRouter() {
  const router = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw validationError(result.error.issues, result.target);
      }
      return undefined;
    },
  });
  const register = router.openapi;
  router.openapi = ((route: RouteConfig, ...rest: unknown[]) =>
    (register as (...args: unknown[]) => unknown)(
      withScopeCheck(withStrictQuery(route)),
      ...rest,
    )) as typeof register;
  return router;
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];
/** The codes answered with status S. */
type CodeOf<S extends ErrorStatus> = {
  [C in ErrorCode]: (typeof ERROR_STATUS)[C] extends S ? C : never;
}[ErrorCode];

const EXAMPLE_REQUEST_ID = "req_01jv7k2m4n6p8r0s2t4v6x8z0b";

/** What each error status means where a route says no more, and the body of its example. */
const ERROR_DOCS: { [S in ErrorStatus]: { description: string; code: CodeOf<S>; message: string } } = {
  400: {
    description: "The request is invalid (INVALID_PARAM); details name each offending field",
    code: "INVALID_PARAM",
    message: "Invalid limit: Too big: expected number to be <=100",
  },
  401: {
    description: "Missing, malformed, unknown, revoked or expired API key (UNAUTHORIZED)",
    code: "UNAUTHORIZED",
    message: "Invalid API key",
  },
  402: {
    description: "Connecting would exceed the workspace's account limit (PLAN_LIMIT_EXCEEDED)",
    code: "PLAN_LIMIT_EXCEEDED",
    message: "This workspace has reached its limit of 5 connected accounts on the free plan",
  },
  403: {
    description: "The API key lacks the scope this route needs (INSUFFICIENT_SCOPE)",
    code: "INSUFFICIENT_SCOPE",
    message: "This API key lacks the accounts:read scope",
  },
  404: {
    description: "No such resource in this workspace (NOT_FOUND)",
    code: "NOT_FOUND",
    message: "Account not found",
  },
  409: {
    description:
      "The refresh did not happen (REFRESH_FAILED): the platform refused the grant, the account is disconnected, or another refresh of it is still running",
    code: "REFRESH_FAILED",
    message: "The account is disconnected; reconnect it",
  },
  429: {
    description: "The platform is rate limiting (RATE_LIMITED)",
    code: "RATE_LIMITED",
    message: "The platform is rate limiting; retry after 120 s",
  },
  500: {
    description: "An unexpected failure (INTERNAL), logged under the body's requestId",
    code: "INTERNAL",
    message: "Internal error",
  },
  502: {
    description: "The platform failed or answered something unusable (PROVIDER_ERROR)",
    code: "PROVIDER_ERROR",
    message: "Token endpoint answered HTTP 502",
  },
  503: {
    description: "A feature is switched off here (FEATURE_DISABLED)",
    code: "FEATURE_DISABLED",
    message: "This feature is not enabled in this environment",
  },
};

/**
 * The documented answer for an error status: the one Error schema, the status's own description
 * and an example body. A route whose answer is narrower says so in `doc` (its code and message
 * must be one of that status).
 */
export function errorResponse<S extends ErrorStatus>(
  status: S,
  doc: Partial<{ description: string; code: CodeOf<S>; message: string }> = {},
) {
  const { description, code, message } = { ...ERROR_DOCS[status], ...doc };
  return {
    description,
    content: {
      "application/json": {
        schema: ErrorSchema,
        example: { error: { code, message, requestId: EXAMPLE_REQUEST_ID } },
      },
    },
  };
}

/** The failures any authenticated route can answer. */
export const errorResponses = {
  400: errorResponse(400),
  401: errorResponse(401),
  403: errorResponse(403),
  404: errorResponse(404),
  500: errorResponse(500),
} as const;

/**
 * What a route that calls a platform can answer besides its own errors. The API limits no request
 * rate of its own; a platform's rate limit is passed through as RATE_LIMITED with the platform's
 * Retry-After, in seconds, when it gave one.
 */
export const platformErrorResponses = {
  429: {
    ...errorResponse(429),
    headers: {
      "Retry-After": {
        description:
          "Seconds to wait before trying again, from the platform's own Retry-After; absent when it gave none",
        schema: { type: "integer", minimum: 0 },
      },
    },
  },
  502: errorResponse(502),
} as const;

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});
