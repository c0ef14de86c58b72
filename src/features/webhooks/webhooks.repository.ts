import { and, desc, eq, gte, lt, sql } from "drizzle-orm";
import { type Db, selectConstants } from "../../db/client";
import { deliveries, events, type WebhookEndpointRow, webhookEndpoints } from "../../db/schema";

export async function findEndpoint(
  db: Db,
  workspaceId: string,
  id: string,
): Promise<WebhookEndpointRow | undefined> {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.workspaceId, workspaceId), eq(webhookEndpoints.id, id)))
    .limit(1);
  return row;
}

export function listEndpoints(db: Db, workspaceId: string) {
  return db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.workspaceId, workspaceId))
    .orderBy(desc(webhookEndpoints.id));
}

/**
 * Inserts an endpoint only while the workspace has fewer than `cap`: the count and the insert are
 * one statement, so parallel creates cannot overshoot. Undefined when the cap is reached.
 */
export async function insertEndpointWithinCap(
  db: Db,
  row: Pick<
    WebhookEndpointRow,
    "id" | "workspaceId" | "url" | "description" | "eventTypes" | "secretEnc" | "keyVersion" | "createdAt"
  >,
  cap: number,
): Promise<WebhookEndpointRow | undefined> {
  const values = {
    id: row.id,
    workspaceId: row.workspaceId,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes ? JSON.stringify(row.eventTypes) : null,
    enabled: 1,
    disabledReason: null,
    secretEnc: row.secretEnc,
    previousSecretEnc: null,
    previousSecretExpiresAt: null,
    keyVersion: row.keyVersion,
    failingSince: null,
    createdAt: row.createdAt,
    updatedAt: row.createdAt,
  };
  const room = sql`(SELECT count(*) FROM ${webhookEndpoints} WHERE ${webhookEndpoints.workspaceId} = ${row.workspaceId}) < ${cap}`;
  const [inserted] = await db
    .insert(webhookEndpoints)
    .select(selectConstants(db, values).from(sql`(SELECT 1)`).where(room) as never)
    .returning();
  return inserted;
}

export async function updateEndpoint(
  db: Db,
  workspaceId: string,
  id: string,
  changes: Partial<WebhookEndpointRow>,
) {
  const [row] = await db
    .update(webhookEndpoints)
    .set(changes)
    .where(and(eq(webhookEndpoints.workspaceId, workspaceId), eq(webhookEndpoints.id, id)))
    .returning();
  return row;
}

export async function deleteEndpoint(db: Db, workspaceId: string, id: string): Promise<boolean> {
  const deleted = await db
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.workspaceId, workspaceId), eq(webhookEndpoints.id, id)))
    .returning({ id: webhookEndpoints.id });
  return deleted.length === 1;
}

/** A page of an endpoint's deliveries, newest first, one extra row to tell whether more follow. */
export function listDeliveries(
  db: Db,
  endpointId: string,
  filter: { status?: "pending" | "succeeded" | "failed"; beforeId?: string },
  limit: number,
) {
  return db
    .select({ delivery: deliveries, eventType: events.type })
    .from(deliveries)
    .innerJoin(events, eq(events.id, deliveries.eventId))
    .where(
      and(
        eq(deliveries.endpointId, endpointId),
        filter.status ? eq(deliveries.status, filter.status) : undefined,
        filter.beforeId ? lt(deliveries.id, filter.beforeId) : undefined,
      ),
    )
    .orderBy(desc(deliveries.id))
    .limit(limit + 1);
}

/** Puts an endpoint's failed deliveries created since `since` back on the schedule from the start. */
export async function requeueFailed(
  db: Db,
  endpointId: string,
  since: number,
  now: number,
): Promise<string[]> {
  const rows = await db
    .update(deliveries)
    .set({
      status: "pending",
      attempts: 0,
      nextAttemptAt: now,
      leaseId: null,
      leaseUntil: null,
      updatedAt: now,
    })
    .where(
      and(
        eq(deliveries.endpointId, endpointId),
        eq(deliveries.status, "failed"),
        gte(deliveries.createdAt, since),
      ),
    )
    .returning({ id: deliveries.id });
  return rows.map((r) => r.id);
}
