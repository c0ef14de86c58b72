import { z } from "@hono/zod-openapi";
import { EVENT_TYPES } from "../../lib/domain";
import { PaginationSchema } from "../../lib/pagination";

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
