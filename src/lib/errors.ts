import { z } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The closed set of error codes, each with its one HTTP status. */
export const ERROR_STATUS = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  INSUFFICIENT_SCOPE: 403,
  NOT_FOUND: 404,
  INVALID_PARAM: 400,
  PLAN_LIMIT_EXCEEDED: 402,
  PLATFORM_RESTRICTED: 403,
  PLATFORM_NOT_CONFIGURED: 400,
  REFRESH_FAILED: 409,
  INVALID_PAGE_ID: 400,
  ACCESS_DENIED: 400,
  RATE_LIMITED: 429,
  PROVIDER_ERROR: 502,
  GRAPH_API_ERROR: 502,
  FEATURE_DISABLED: 503,
  STORAGE_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

export interface ErrorDetail {
  field: string;
  message: string;
}

/** A transport-neutral failure: services throw it, the app formats it. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = ERROR_STATUS[code];
  }
}

/** The one error envelope, whatever the status. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z
        .enum(ERROR_CODES)
        .openapi({ description: "One of the closed set; each code has one HTTP status" }),
      message: z.string().openapi({ description: "For a person: what failed, never a secret" }),
      details: z
        .array(z.object({ field: z.string(), message: z.string() }))
        .optional()
        .openapi({ description: "On validation failures: each offending field and why" }),
      requestId: z.string().openapi({
        description:
          "The request's id, the same value as the x-request-id header; quote it when reporting a problem",
        example: "req_01jv7k2m4n6p8r0s2t4v6x8z0b",
      }),
    }),
  })
  .openapi("Error");

export type ErrorBody = z.infer<typeof ErrorSchema>;

/**
 * The envelope of `err`. What the API answers always carries its request id; only the sandbox, run
 * on its own as a provider, has none to give.
 */
export function errorBody(err: ApiError, requestId: string): ErrorBody;
export function errorBody(
  err: ApiError,
  requestId?: string,
): { error: Omit<ErrorBody["error"], "requestId"> };
export function errorBody(err: ApiError, requestId?: string) {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details?.length ? { details: err.details } : {}),
      ...(requestId ? { requestId } : {}),
    },
  };
}

/** Turns zod issues into one message and per-field details that name the field. */
export function validationError(issues: readonly z.core.$ZodIssue[], where: string): ApiError {
  const target = where === "json" ? "body" : where;
  const named = (path: readonly PropertyKey[], message: string) => ({
    field: path.length ? path.map(String).join(".") : target,
    message,
  });
  // An unknown key is named itself, not its parent object.
  const details = issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) =>
          named([...issue.path, key], target === "query" ? "Unknown query parameter" : "Unknown field"),
        )
      : [named(issue.path, issue.message)],
  );
  const first = details[0];
  const message = first ? `Invalid ${first.field}: ${first.message}` : "Invalid request";
  return new ApiError("INVALID_PARAM", message, details);
}
