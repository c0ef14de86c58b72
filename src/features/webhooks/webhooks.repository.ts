import { and, desc, eq, gte, lt, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
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

export async function countEndpoints(db: Db, workspaceId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)` })
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.workspaceId, workspaceId));
  return row?.n ?? 0;
}

export async function insertEndpoint(
  db: Db,
  row: typeof webhookEndpoints.$inferInsert,
): Promise<WebhookEndpointRow> {
  const [inserted] = await db.insert(webhookEndpoints).values(row).returning();
  return inserted as WebhookEndpointRow;
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
