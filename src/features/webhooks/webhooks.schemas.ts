import { z } from "@hono/zod-openapi";
import { ACCOUNT_STATUSES, EVENT_TYPES, PLATFORMS } from "../../lib/domain";
import { PaginationSchema } from "../../lib/pagination";
import { TEST_EVENT } from "./events";

export const EventTypeSchema = z.enum(EVENT_TYPES).openapi("EventType");

export const WebhookIdParamsSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "wh_01jdzq…" }),
});

const fields = {
  url: z.string().min(1).max(2048).openapi({ example: "https://yourapp.com/webhooks/switchboard" }),
  description: z.string().trim().max(200).nullable(),
  eventTypes: z.array(EventTypeSchema).min(1).max(EVENT_TYPES.length).nullable().openapi({
    description: "Event types to receive; null (the default) receives every type",
  }),
};

export const CreateWebhookBodySchema = z
  .object({
    url: fields.url,
    description: fields.description.optional(),
    eventTypes: fields.eventTypes.optional(),
  })
  .strict()
  .openapi("CreateWebhook");

export const UpdateWebhookBodySchema = z
  .object({
    url: fields.url.optional(),
    description: fields.description.optional(),
    eventTypes: fields.eventTypes.optional(),
    enabled: z.boolean().optional().openapi({ description: "true re-enables a disabled endpoint" }),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: "Provide at least one field" })
  .openapi("UpdateWebhook");

export const WebhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    eventTypes: z.array(EventTypeSchema).nullable(),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    failingSince: z.string().nullable(),
    secretRotatedUntil: z
      .string()
      .nullable()
      .openapi({ description: "Until when the previous secret also signs" }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Webhook");

export const WebhookWithSecretSchema = z
  .object({ webhook: WebhookSchema, secret: z.string().openapi({ description: "whsec_…, shown once" }) })
  .openapi("WebhookWithSecret");

export const WebhookListSchema = z.object({ data: z.array(WebhookSchema) }).openapi("WebhookList");

export const DeliverySchema = z
  .object({
    id: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    status: z.enum(["pending", "succeeded", "failed"]),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("Delivery");

export const DeliveryListSchema = z
  .object({ data: z.array(DeliverySchema), pagination: PaginationSchema })
  .openapi("DeliveryList");

export const DeliveriesQuerySchema = z.object({
  status: z.enum(["pending", "succeeded", "failed"]).optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, "Must be an integer from 1 to 100")
    .transform(Number)
    .pipe(z.number().int().min(1).max(100))
    .default(20)
    .openapi({ type: "integer", minimum: 1, maximum: 100, default: 20 }),
  cursor: z.string().max(200).optional(),
});

export const RecoverBodySchema = z
  .object({
    since: z.iso
      .datetime({ offset: true })
      .openapi({ description: "Redeliver failed deliveries created since then" }),
  })
  .strict()
  .openapi("RecoverRequest");

export const TestResultSchema = z
  .object({
    success: z.boolean(),
    deliveryId: z.string(),
    statusCode: z.number().int().nullable(),
    error: z.string().nullable(),
  })
  .openapi("WebhookTestResult");

const upper = <const T extends readonly string[]>(values: T) =>
  values.map((value) => value.toUpperCase()) as { [K in keyof T]: Uppercase<T[K]> };

/** An account as events carry it: its public fields only, platform and status in UPPERCASE. */
export const EventAccountSchema = z
  .object({
    id: z.string().openapi({ example: "acc_01jdzq…" }),
    platform: z.enum(upper(PLATFORMS)),
    status: z.enum(upper(ACCOUNT_STATUSES)),
    username: z.string().nullable(),
    displayName: z.string().nullable(),
    endUserId: z.string().nullable().openapi({
      description: "Your id for the person who connected it through a hosted connect session",
    }),
  })
  .openapi("EventAccount");

export const AccountEventDataSchema = z.object({ account: EventAccountSchema }).openapi("AccountEventData");

export const AccountErrorEventDataSchema = z
  .object({
    account: EventAccountSchema,
    error: z.object({
      code: z.string().openapi({ description: "The platform's or our code for the failure" }),
      message: z.string(),
    }),
  })
  .openapi("AccountErrorEventData");

export const TestEventDataSchema = z.object({ message: z.string() }).openapi("TestEventData");

/** The body of every delivery: the event's own id, its type, when it happened and its data. */
const eventSchema = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z.object({
    id: z.string().openapi({ description: "The event's id; the webhook-id header carries the same value" }),
    type: z.literal(type),
    createdAt: z.string().openapi({ description: "ISO 8601, when the event happened" }),
    workspaceId: z.string(),
    data,
  });

/** Each event type's payload, as the outbox stores and every delivery of it sends. */
export const EVENT_SCHEMAS = {
  "account.connected": eventSchema("account.connected", AccountEventDataSchema).openapi(
    "AccountConnectedEvent",
    { description: "An account was connected, or reconnected with a new grant" },
  ),
  "account.error": eventSchema("account.error", AccountErrorEventDataSchema).openapi("AccountErrorEvent", {
    description: "An account broke: its grant was refused or expired; it needs a reconnect",
  }),
  "account.disconnected": eventSchema("account.disconnected", AccountEventDataSchema).openapi(
    "AccountDisconnectedEvent",
    { description: "An account was disconnected (archived) through the API" },
  ),
  "account.recovered": eventSchema("account.recovered", AccountEventDataSchema).openapi(
    "AccountRecoveredEvent",
    { description: "A broken account works again" },
  ),
  "account.expiring": eventSchema("account.expiring", AccountEventDataSchema).openapi(
    "AccountExpiringEvent",
    { description: "An account's token cannot be refreshed and expires soon; reconnect it before then" },
  ),
  [TEST_EVENT]: eventSchema(TEST_EVENT, TestEventDataSchema).openapi("WebhookTestEvent", {
    description: "Sent only by POST /v1/webhooks/{id}/test, to that endpoint",
  }),
} satisfies Record<(typeof EVENT_TYPES)[number] | typeof TEST_EVENT, z.ZodType>;

/** The headers of every delivery (Standard Webhooks). */
export const WebhookDeliveryHeadersSchema = z.object({
  "webhook-id": z.string().openapi({ description: "The event's id: the same on every retry of it" }),
  "webhook-timestamp": z.string().openapi({ description: "Unix seconds when this attempt was signed" }),
  "webhook-signature": z.string().openapi({
    description:
      "Space-separated `v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<body>` with the endpoint's secret; two during a secret rotation",
  }),
});
