import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { bearer, createRouter, errorResponses, json, jsonBody } from "../../lib/router";
import { setGa4ClientId } from "./users.repository";
import { Ga4ClientIdBodySchema, OkSchema } from "./users.schemas";

export const storeGa4ClientId = createRoute({
  operationId: "storeGa4ClientId",
  method: "post",
  path: "/me/ga4-client-id",
  tags: ["Users"],
  security: bearer(),
  summary: "Store the GA4 client id",
  description:
    "Stores the browser-side GA4 client id on the API key's user, for server-side Measurement Protocol event stitching. Any valid key may call it; no scope is needed.",
  request: jsonBody(Ga4ClientIdBodySchema),
  // Any key will do: no scope to lack (403), nothing to find (404).
  responses: {
    200: json(OkSchema, "Stored"),
    400: errorResponses[400],
    401: errorResponses[401],
    500: errorResponses[500],
  },
});

/** Mounted at /v1/users, behind apiKeyAuth. */
export const usersRouter = createRouter().openapi(storeGa4ClientId, async (c) => {
  const { workspaceId, userId } = c.var.auth;
  if (!(await setGa4ClientId(c.var.db, workspaceId, userId, c.req.valid("json").clientId, Date.now()))) {
    throw new ApiError("UNAUTHORIZED", "The user of this API key no longer exists");
  }
  return c.json({ ok: true as const }, 200);
});
