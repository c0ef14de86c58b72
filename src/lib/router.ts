import { OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { Db } from "../db/client";
import type { Scope } from "./domain";
import { ErrorSchema, validationError } from "./errors";
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
    db: Db;
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

/**
 * Every router formats validation failures as the one INVALID_PARAM envelope naming the field,
 * and refuses unknown query parameters (withStrictQuery).
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
    (register as (...args: unknown[]) => unknown)(withStrictQuery(route), ...rest)) as typeof register;
  return router;
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

const errorResponse = (description: string) => json(ErrorSchema, description);

/** The failures any authenticated route can answer. */
export const errorResponses = {
  400: errorResponse("Invalid input (INVALID_PARAM), naming the field"),
  401: errorResponse("Missing, invalid or revoked API key"),
  403: errorResponse("The key lacks the scope this route needs"),
  404: errorResponse("Not found in this workspace"),
  500: errorResponse("Unexpected failure, with the request id"),
} as const;

/**
 * What a route that calls a platform can answer besides its own errors. The API limits no request
 * rate of its own; a platform's rate limit is passed through as RATE_LIMITED with the platform's
 * Retry-After, in seconds, when it gave one.
 */
export const platformErrorResponses = {
  429: {
    ...errorResponse("The platform is rate limiting (RATE_LIMITED)"),
    headers: {
      "Retry-After": {
        description:
          "Seconds to wait before trying again, from the platform's own Retry-After; absent when it gave none",
        schema: { type: "integer", minimum: 0 },
      },
    },
  },
  502: errorResponse("The platform failed or answered something unusable (PROVIDER_ERROR)"),
} as const;

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});
