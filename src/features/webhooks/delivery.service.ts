import { and, asc, eq, inArray, isNull, like, lte, or } from "drizzle-orm";
import type { Db } from "../../db/client";
import {
  type DeliveryRow,
  deliveries,
  events,
  type WebhookEndpointRow,
  webhookEndpoints,
} from "../../db/schema";
import { getSecretBox } from "../../lib/config";
import { newLeaseId, QUEUE_LEASE_MS, QUEUED_LEASE_PATTERN } from "../../lib/leases";
import { MAX_CONCURRENCY, pool } from "../../lib/pool";
import { DAY, HOUR, MINUTE, SECOND } from "../../lib/time";
import { retryAfterMs } from "../../platforms/http";
import type { ServiceContext } from "../context";
import { webhookHeaders } from "./signing";

/** Standard Webhooks retry schedule: the waits after the first, second, … failed attempt. */
export const RETRY_SCHEDULE_MS = [
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  14 * HOUR,
  20 * HOUR,
  24 * HOUR,
];
export const DELIVERY_TIMEOUT_MS = 15 * SECOND;
export const DELIVERY_LEASE_MS = 60 * SECOND;
/** An endpoint whose every attempt failed for this long is disabled. */
export const DISABLE_AFTER_MS = 5 * DAY;
const CLAIM_IDS_PER_STATEMENT = 90;
/** Due deliveries the cron's retry pass claims at a time. */
export const DUE_BATCH = 60;

export const secretContext = (endpointId: string, field: "secret" | "previous_secret") => ({
  table: "webhook_endpoints",
  rowId: endpointId,
  field,
});

const leaseFree = (now: number) => or(isNull(deliveries.leaseUntil), lte(deliveries.leaseUntil, now));
const dueDeliveries = (db: Db, now: number, limit: number) =>
  db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(and(eq(deliveries.status, "pending"), lte(deliveries.nextAttemptAt, now), leaseFree(now)))
    .orderBy(asc(deliveries.nextAttemptAt))
    .limit(limit);

/**
 * Claims deliveries with one conditional statement: two runs never hold the same delivery at once.
 * Named ones are taken when free or only queued (src/lib/leases.ts); due ones only when free.
 */
export async function claimDeliveries(
  db: Db,
  leaseId: string,
  now: number,
  which: { ids: string[] } | { limit: number },
) {
  if ("ids" in which && which.ids.length === 0) return [];
  const claimable =
    "ids" in which
      ? and(
          inArray(deliveries.id, which.ids),
          or(leaseFree(now), like(deliveries.leaseId, QUEUED_LEASE_PATTERN)),
        )
      : and(inArray(deliveries.id, dueDeliveries(db, now, which.limit)), leaseFree(now));
  return db
    .update(deliveries)
    .set({ leaseId, leaseUntil: now + DELIVERY_LEASE_MS })
    .where(and(claimable, eq(deliveries.status, "pending")))
    .returning();
}

/** Claims due deliveries for queue messages under a queued lease; answers their ids. */
export function claimDueForQueue(db: Db, leaseId: string, now: number, limit: number) {
  return db
    .update(deliveries)
    .set({ leaseId, leaseUntil: now + QUEUE_LEASE_MS })
    .where(and(inArray(deliveries.id, dueDeliveries(db, now, limit)), leaseFree(now)))
    .returning({ id: deliveries.id });
}

/** Hands back every due delivery a claim's lease holds (one statement, through the due index). */
export function releaseLease(db: Db, leaseId: string, now: number) {
  return db
    .update(deliveries)
    .set({ leaseId: null, leaseUntil: null })
    .where(
      and(
        eq(deliveries.status, "pending"),
        lte(deliveries.nextAttemptAt, now),
        eq(deliveries.leaseId, leaseId),
      ),
    );
}

export interface AttemptResult {
  deliveryId: string;
  ok: boolean;
  statusCode: number | null;
  error: string | null;
}

async function signingSecrets(env: Env, endpoint: WebhookEndpointRow, now: number): Promise<string[]> {
  const box = await getSecretBox(env);
  const secrets = [await box.decrypt(endpoint.secretEnc, secretContext(endpoint.id, "secret"))];
  if (endpoint.previousSecretEnc && (endpoint.previousSecretExpiresAt ?? 0) > now) {
    secrets.push(
      await box.decrypt(endpoint.previousSecretEnc, secretContext(endpoint.id, "previous_secret")),
    );
  }
  return secrets;
}

/** One HTTP attempt: 15 s timeout, redirects not followed, only 2xx counts. */
async function post(url: string, headers: Record<string, string>, body: string, now: number) {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await res.body?.cancel();
    return { status: res.status, retryAfter: retryAfterMs(res.headers.get("retry-after"), now) };
  } catch (err) {
    const timeout = err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError");
    return { status: null, error: timeout ? "Timed out after 15 s" : "Network error", retryAfter: undefined };
  }
}

/** Attempts one leased delivery and records the outcome on it and its endpoint, fenced by the lease. */
export async function attemptDelivery(
  { env, db, now }: ServiceContext,
  delivery: DeliveryRow,
): Promise<AttemptResult> {
  const [found] = await db
    .select({ event: events, endpoint: webhookEndpoints })
    .from(deliveries)
    .innerJoin(events, eq(events.id, deliveries.eventId))
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, deliveries.endpointId))
    .where(eq(deliveries.id, delivery.id))
    .limit(1);
  const mine = and(eq(deliveries.id, delivery.id), eq(deliveries.leaseId, delivery.leaseId ?? ""));
  const release = { leaseId: null, leaseUntil: null, updatedAt: now };
  if (!found?.endpoint.enabled) {
    const error = found
      ? `Endpoint disabled: ${found.endpoint.disabledReason ?? "by the customer"}`
      : "Endpoint deleted";
    await db
      .update(deliveries)
      .set({ ...release, status: "failed", nextAttemptAt: null, lastError: error })
      .where(mine);
    return { deliveryId: delivery.id, ok: false, statusCode: null, error };
  }
  const { event, endpoint } = found;
  const headers = await webhookHeaders(
    await signingSecrets(env, endpoint, now),
    event.id,
    Math.floor(now / 1000),
    event.payload,
  );
  const result = await post(endpoint.url, headers, event.payload, now);
  const attempts = delivery.attempts + 1;
  const ok = result.status !== null && result.status >= 200 && result.status < 300;
  const error = ok ? null : (result.error ?? `HTTP ${result.status}`);

  const endpointChanges: Partial<WebhookEndpointRow> = {};
  let next: number | null = null;
  if (ok) {
    if (endpoint.failingSince !== null) endpointChanges.failingSince = null;
  } else {
    const failingSince = endpoint.failingSince ?? now;
    if (endpoint.failingSince === null) endpointChanges.failingSince = now;
    if (result.status === 410) {
      Object.assign(endpointChanges, { enabled: false, disabledReason: "The endpoint answered 410 Gone" });
    } else if (now - failingSince >= DISABLE_AFTER_MS) {
      Object.assign(endpointChanges, { enabled: false, disabledReason: "Every attempt failed for 5 days" });
    } else if (attempts <= RETRY_SCHEDULE_MS.length) {
      const wait = RETRY_SCHEDULE_MS[attempts - 1] as number;
      const honoured = result.status === 429 || result.status === 503 ? (result.retryAfter ?? 0) : 0;
      next = now + Math.max(wait, honoured);
    }
  }
  const statements = [
    db
      .update(deliveries)
      .set({
        ...release,
        status: ok ? "succeeded" : next === null ? "failed" : "pending",
        attempts,
        nextAttemptAt: next,
        lastAttemptAt: now,
        lastStatusCode: result.status,
        lastError: error,
      })
      .where(mine),
  ] as const;
  if (Object.keys(endpointChanges).length) {
    await db.batch([
      ...statements,
      db
        .update(webhookEndpoints)
        .set({ ...endpointChanges, updatedAt: now })
        .where(eq(webhookEndpoints.id, endpoint.id)),
    ]);
  } else {
    await statements[0];
  }
  return { deliveryId: delivery.id, ok, statusCode: result.status, error };
}

/** The first attempt, right after the change that caused the events (run through waitUntil). */
export async function deliverNow(service: ServiceContext, deliveryIds: string[]): Promise<AttemptResult[]> {
  const leaseId = newLeaseId();
  const claimed: DeliveryRow[] = [];
  // D1 binds at most 100 parameters per statement.
  for (let i = 0; i < deliveryIds.length; i += CLAIM_IDS_PER_STATEMENT) {
    const ids = deliveryIds.slice(i, i + CLAIM_IDS_PER_STATEMENT);
    claimed.push(...(await claimDeliveries(service.db, leaseId, service.now, { ids })));
  }
  return pool(claimed, MAX_CONCURRENCY, (delivery) => attemptDelivery(service, delivery));
}

/** The cron's retry pass: due deliveries, oldest first, a bounded batch per run. */
export async function deliverDue(service: ServiceContext, limit = DUE_BATCH): Promise<AttemptResult[]> {
  const claimed = await claimDeliveries(service.db, newLeaseId(), service.now, { limit });
  return pool(claimed, MAX_CONCURRENCY, (delivery) => attemptDelivery(service, delivery));
}
