import { createRoute } from "@hono/zod-openapi";
import { bearer, createRouter, errorResponses, json, jsonBody } from "../../lib/router";
import { serviceOf } from "../context";
import {
  ConnectSessionCreatedSchema,
  ConnectSessionIdParamsSchema,
  ConnectSessionSchema,
  CreateConnectSessionBodySchema,
} from "./sessions.schemas";
import { createSession, getSession } from "./sessions.service";

const tags = ["Connect sessions"];

export const createConnectSession = createRoute({
  operationId: "createConnectSession",
  method: "post",
  path: "/",
  tags,
  security: bearer("accounts:write"),
  summary: "Create a hosted connect session",
  description:
    "A link to the hosted connect page for one end user: it lists the allowed platforms, runs the consent, offers the page picker where the platform has pages, and ends on a result screen that redirects to returnUrl and posts the result to the opener. The token is single use (one connection) and expires in 30 minutes; only its hash is stored.",
  request: jsonBody(CreateConnectSessionBodySchema),
  responses: { 201: json(ConnectSessionCreatedSchema, "The session's link"), ...errorResponses },
});

export const getConnectSession = createRoute({
  operationId: "getConnectSession",
  method: "get",
  path: "/{id}",
  tags,
  security: bearer("accounts:read"),
  summary: "Get a connect session",
  description: "pending, completed (with accountId), failed (with the last attempt's error) or expired.",
  request: { params: ConnectSessionIdParamsSchema },
  responses: { 200: json(ConnectSessionSchema, "The session"), ...errorResponses },
});

export const sessionsRouter = createRouter()
  .openapi(createConnectSession, async (c) => {
    const created = await createSession(serviceOf(c), c.var.auth.workspaceId, c.req.valid("json"));
    return c.json(created, 201);
  })
  .openapi(getConnectSession, async (c) => {
    const session = await getSession(serviceOf(c), c.var.auth.workspaceId, c.req.valid("param").id);
    return c.json(session, 200);
  });
