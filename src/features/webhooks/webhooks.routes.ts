import { createRoute, z } from "@hono/zod-openapi";
import { getConfig, getSecretBox } from "../../lib/config";
import { ApiError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { decodeCursor, paginate } from "../../lib/pagination";
import { bearer, createRouter, errorResponses, json, jsonBody } from "../../lib/router";
import { SuccessSchema } from "../../lib/schemas";
import { iso } from "../../lib/time";
import { deliverNow, secretContext } from "./delivery.service";
import { validateEndpointUrl } from "./endpoint-url";
import { commitWithEvents, TEST_EVENT } from "./events";
import { newWebhookSecret } from "./signing";
import {
  deleteEndpoint,
  findEndpoint,
  insertEndpointWithinCap,
  listDeliveries as listDeliveryRows,
  listEndpoints,
  requeueFailed,
  updateEndpoint,
} from "./webhooks.repository";
import {
  CreateWebhookBodySchema,
  DeliveriesQuerySchema,
  DeliveryListSchema,
  RecoverBodySchema,
  TestResultSchema,
  UpdateWebhookBodySchema,
  WebhookIdParamsSchema,
  WebhookListSchema,
  WebhookSchema,
  WebhookWithSecretSchema,
} from "./webhooks.schemas";
import { MAX_ENDPOINTS_PER_WORKSPACE, ROTATION_OVERLAP_MS, sendSoon, toWebhook } from "./webhooks.service";

const tags = ["Webhooks"];
const notFound = () => new ApiError("NOT_FOUND", "Webhook endpoint not found");
const params = { params: WebhookIdParamsSchema };

export const createWebhook = createRoute({
  operationId: "createWebhook",
  method: "post",
  path: "/",
  tags,
  security: bearer("webhooks:write"),
  summary: "Add a webhook endpoint",
  description:
    "Answers the signing secret (whsec_…) this once; it is stored encrypted. Deliveries follow Standard Webhooks.",
  request: jsonBody(CreateWebhookBodySchema),
  responses: { 201: json(WebhookWithSecretSchema, "The endpoint and its secret"), ...errorResponses },
});

export const listWebhooks = createRoute({
  operationId: "listWebhooks",
  method: "get",
  path: "/",
  tags,
  security: bearer("webhooks:read"),
  summary: "List webhook endpoints",
  responses: { 200: json(WebhookListSchema, "The endpoints"), ...errorResponses },
});

export const getWebhook = createRoute({
  operationId: "getWebhook",
  method: "get",
  path: "/{id}",
  tags,
  security: bearer("webhooks:read"),
  summary: "Get a webhook endpoint",
  request: params,
  responses: { 200: json(WebhookSchema, "The endpoint"), ...errorResponses },
});

export const updateWebhook = createRoute({
  operationId: "updateWebhook",
  method: "patch",
  path: "/{id}",
  tags,
  security: bearer("webhooks:write"),
  summary: "Update a webhook endpoint",
  request: { ...params, ...jsonBody(UpdateWebhookBodySchema) },
  responses: { 200: json(WebhookSchema, "The endpoint"), ...errorResponses },
});

export const deleteWebhook = createRoute({
  operationId: "deleteWebhook",
  method: "delete",
  path: "/{id}",
  tags,
  security: bearer("webhooks:write"),
  summary: "Delete a webhook endpoint and its deliveries",
  request: params,
  responses: { 200: json(SuccessSchema, "Deleted"), ...errorResponses },
});

export const rotateWebhookSecret = createRoute({
  operationId: "rotateWebhookSecret",
  method: "post",
  path: "/{id}/rotate-secret",
  tags,
  security: bearer("webhooks:write"),
  summary: "Rotate the signing secret",
  description:
    "Answers the new secret once. For 24 hours every delivery carries signatures by both the old and the new secret.",
  request: params,
  responses: { 200: json(WebhookWithSecretSchema, "The endpoint and its new secret"), ...errorResponses },
});

export const testWebhook = createRoute({
  operationId: "testWebhook",
  method: "post",
  path: "/{id}/test",
  tags,
  security: bearer("webhooks:write"),
  summary: "Send a test event now",
  request: params,
  responses: { 200: json(TestResultSchema, "How the endpoint answered"), ...errorResponses },
});

export const listWebhookDeliveries = createRoute({
  operationId: "listWebhookDeliveries",
  method: "get",
  path: "/{id}/deliveries",
  tags,
  security: bearer("webhooks:read"),
  summary: "List an endpoint's deliveries",
  request: { ...params, query: DeliveriesQuerySchema },
  responses: { 200: json(DeliveryListSchema, "A page of deliveries, newest first"), ...errorResponses },
});

export const recoverWebhook = createRoute({
  operationId: "recoverWebhook",
  method: "post",
  path: "/{id}/recover",
  tags,
  security: bearer("webhooks:write"),
  summary: "Redeliver failed deliveries since a time",
  request: { ...params, ...jsonBody(RecoverBodySchema) },
  responses: {
    200: json(z.object({ recovered: z.number().int() }), "How many deliveries were put back on the schedule"),
    ...errorResponses,
  },
});

export const webhooksRouter = createRouter()
  .openapi(createWebhook, async (c) => {
    const body = c.req.valid("json");
    const now = Date.now();
    const url = validateEndpointUrl(body.url, getConfig(c.env).isProduction);
    const id = newId("wh", now);
    const secret = newWebhookSecret();
    const box = await getSecretBox(c.env);
    const row = await insertEndpointWithinCap(
      c.var.db,
      {
        id,
        workspaceId: c.var.auth.workspaceId,
        url,
        description: body.description ?? null,
        eventTypes: body.eventTypes ?? null,
        secretEnc: await box.encrypt(secret, secretContext(id, "secret")),
        keyVersion: box.currentVersion,
        createdAt: now,
      },
      MAX_ENDPOINTS_PER_WORKSPACE,
    );
    if (!row) {
      throw new ApiError(
        "INVALID_PARAM",
        `A workspace has at most ${MAX_ENDPOINTS_PER_WORKSPACE} webhook endpoints`,
      );
    }
    return c.json({ webhook: toWebhook(row, now), secret }, 201);
  })
  .openapi(listWebhooks, async (c) => {
    const now = Date.now();
    const rows = await listEndpoints(c.var.db, c.var.auth.workspaceId);
    return c.json({ data: rows.map((row) => toWebhook(row, now)) }, 200);
  })
  .openapi(getWebhook, async (c) => {
    const row = await findEndpoint(c.var.db, c.var.auth.workspaceId, c.req.valid("param").id);
    if (!row) throw notFound();
    return c.json(toWebhook(row, Date.now()), 200);
  })
  .openapi(updateWebhook, async (c) => {
    const body = c.req.valid("json");
    const now = Date.now();
    const changes = {
      ...(body.url !== undefined
        ? { url: validateEndpointUrl(body.url, getConfig(c.env).isProduction) }
        : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
      ...(body.eventTypes !== undefined ? { eventTypes: body.eventTypes } : {}),
      ...(body.enabled === true ? { enabled: true, disabledReason: null, failingSince: null } : {}),
      ...(body.enabled === false ? { enabled: false, disabledReason: "Disabled through the API" } : {}),
      updatedAt: now,
    };
    const row = await updateEndpoint(c.var.db, c.var.auth.workspaceId, c.req.valid("param").id, changes);
    if (!row) throw notFound();
    return c.json(toWebhook(row, now), 200);
  })
  .openapi(deleteWebhook, async (c) => {
    if (!(await deleteEndpoint(c.var.db, c.var.auth.workspaceId, c.req.valid("param").id))) throw notFound();
    return c.json({ success: true as const }, 200);
  })
  .openapi(rotateWebhookSecret, async (c) => {
    const now = Date.now();
    const existing = await findEndpoint(c.var.db, c.var.auth.workspaceId, c.req.valid("param").id);
    if (!existing) throw notFound();
    const box = await getSecretBox(c.env);
    const previous = await box.decrypt(existing.secretEnc, secretContext(existing.id, "secret"));
    const secret = newWebhookSecret();
    const row = await updateEndpoint(c.var.db, c.var.auth.workspaceId, existing.id, {
      secretEnc: await box.encrypt(secret, secretContext(existing.id, "secret")),
      previousSecretEnc: await box.encrypt(previous, secretContext(existing.id, "previous_secret")),
      previousSecretExpiresAt: now + ROTATION_OVERLAP_MS,
      keyVersion: box.currentVersion,
      updatedAt: now,
    });
    if (!row) throw notFound();
    return c.json({ webhook: toWebhook(row, now), secret }, 200);
  })
  .openapi(testWebhook, async (c) => {
    const now = Date.now();
    const endpoint = await findEndpoint(c.var.db, c.var.auth.workspaceId, c.req.valid("param").id);
    if (!endpoint) throw notFound();
    const { deliveryIds } = await commitWithEvents(
      c.var.db,
      [],
      [
        {
          type: TEST_EVENT,
          workspaceId: endpoint.workspaceId,
          endpointId: endpoint.id,
          data: { message: "A test event from Switchboard" },
        },
      ],
      now,
    );
    const [result] = await deliverNow({ env: c.env, db: c.var.db, now }, deliveryIds);
    if (!result) {
      return c.json(
        {
          success: false,
          deliveryId: deliveryIds[0] ?? "",
          statusCode: null,
          error: "The endpoint is disabled",
        },
        200,
      );
    }
    return c.json(
      {
        success: result.ok,
        deliveryId: result.deliveryId,
        statusCode: result.statusCode,
        error: result.error,
      },
      200,
    );
  })
  .openapi(listWebhookDeliveries, async (c) => {
    const { status, limit, cursor } = c.req.valid("query");
    const endpoint = await findEndpoint(c.var.db, c.var.auth.workspaceId, c.req.valid("param").id);
    if (!endpoint) throw notFound();
    const beforeId = cursor ? decodeCursor(cursor, "dlv") : undefined;
    const rows = await listDeliveryRows(c.var.db, endpoint.id, { status, beforeId }, limit);
    const { page, pagination } = paginate(
      rows.map((r) => ({ id: r.delivery.id, ...r })),
      limit,
    );
    return c.json(
      {
        data: page.map(({ delivery, eventType }) => ({
          id: delivery.id,
          eventId: delivery.eventId,
          eventType,
          status: delivery.status,
          attempts: delivery.attempts,
          nextAttemptAt: iso(delivery.nextAttemptAt),
          lastAttemptAt: iso(delivery.lastAttemptAt),
          lastStatusCode: delivery.lastStatusCode,
          lastError: delivery.lastError,
          createdAt: iso(delivery.createdAt),
        })),
        pagination,
      },
      200,
    );
  })
  .openapi(recoverWebhook, async (c) => {
    const now = Date.now();
    const endpoint = await findEndpoint(c.var.db, c.var.auth.workspaceId, c.req.valid("param").id);
    if (!endpoint) throw notFound();
    const ids = await requeueFailed(c.var.db, endpoint.id, Date.parse(c.req.valid("json").since), now);
    sendSoon(c, ids);
    return c.json({ recovered: ids.length }, 200);
  });
