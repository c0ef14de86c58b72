import type { Context } from "hono";
import type { WebhookEndpointRow } from "../../db/schema";
import type { AppEnv } from "../../lib/router";
import { DAY, iso } from "../../lib/time";
import { serviceOf } from "../context";
import { deliverNow } from "./delivery.service";

/** How long the previous secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_MS = DAY;
export const MAX_ENDPOINTS_PER_WORKSPACE = 20;

export function toWebhook(row: WebhookEndpointRow, now: number) {
  const overlap = row.previousSecretExpiresAt !== null && row.previousSecretExpiresAt > now;
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    failingSince: iso(row.failingSince),
    secretRotatedUntil: overlap ? iso(row.previousSecretExpiresAt) : null,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

/** First attempt of fresh deliveries right after the response, through waitUntil; the cron retries. */
export function sendSoon(c: Context<AppEnv>, deliveryIds: string[]): void {
  if (deliveryIds.length === 0) return;
  c.executionCtx.waitUntil(
    deliverNow(serviceOf(c), deliveryIds).catch((err: unknown) => {
      console.error(
        JSON.stringify({
          level: "error",
          event: "webhook_first_attempt_failed",
          message: err instanceof Error ? err.message : "unknown",
        }),
      );
    }),
  );
}
