import { OpenAPIHono, type z } from "@hono/zod-openapi";
import type { Db } from "../db/client";
import type { Scope } from "./domain";
import { ErrorSchema, validationError } from "./errors";

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
  };
}

/** Every router formats validation failures as the one INVALID_PARAM envelope naming the field. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw validationError(result.error.issues, result.target);
      }
      return undefined;
    },
  });
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

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});
