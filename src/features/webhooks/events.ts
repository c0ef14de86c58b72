import type { z } from "@hono/zod-openapi";
import { and, eq, type SQL, sql } from "drizzle-orm";
import { type Db, selectConstants } from "../../db/client";
import type { BatchRunner, Statement } from "../../db/coalesce";
import { type AccountRow, deliveries, events, webhookEndpoints } from "../../db/schema";
import type { EventType } from "../../lib/domain";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import type {
  AccountErrorEventDataSchema,
  AccountEventDataSchema,
  TestEventDataSchema,
} from "./webhooks.schemas";

/** Sent only by POST /v1/webhooks/:id/test, to that endpoint. */
export const TEST_EVENT = "webhook.test";

type AccountFields = Pick<AccountRow, "id" | "platform" | "status" | "username" | "displayName"> &
  Partial<Pick<AccountRow, "endUserId">>;

export interface PendingEvent {
  type: EventType | typeof TEST_EVENT;
  workspaceId: string;
  /** Typed by the schemas that document each event type's payload (the OpenAPI webhooks). */
  data:
    | z.input<typeof AccountEventDataSchema>
    | z.input<typeof AccountErrorEventDataSchema>
    | z.input<typeof TestEventDataSchema>;
  /** Deliver only to this endpoint (tests); otherwise to every enabled subscriber. */
  endpointId?: string;
}

/**
 * An account event. platform and status are UPPERCASE in webhook payloads, as in the reference
 * contract; only public fields are copied, never a token or secret.
 */
export function accountEvent(
  type: EventType,
  account: AccountFields & { workspaceId: string },
  error?: { code: string; message: string },
): PendingEvent {
  return {
    type,
    workspaceId: account.workspaceId,
    data: {
      account: {
        id: account.id,
        platform: account.platform.toUpperCase() as Uppercase<typeof account.platform>,
        status: account.status.toUpperCase() as Uppercase<typeof account.status>,
        username: account.username,
        displayName: account.displayName,
        endUserId: account.endUserId ?? null,
      },
      ...(error ? { error: { code: error.code, message: error.message } } : {}),
    },
  };
}

/** Deliveries per INSERT: two bound values each, under D1's 100 bound parameters per statement. */
const DELIVERIES_PER_STATEMENT = 40;

/**
 * An event's deliveries as one INSERT … SELECT over a VALUES list (only the id and the endpoint
 * differ between them), so an event costs one statement for its deliveries, not one per endpoint.
 * When `guarded`, rows are inserted only if the event's own (guarded) insert happened.
 */
function deliveryInsert(
  db: Db,
  event: { id: string; workspaceId: string },
  targets: { id: string; endpointId: string }[],
  now: number,
  guarded: boolean,
): Statement {
  const values = sql.join(
    targets.map((t) => sql`(${t.id}, ${t.endpointId})`),
    sql`, `,
  );
  // Every column, in table order: drizzle's insert … select requires it.
  const rows = selectConstants(db, {
    id: sql`column1`,
    workspaceId: event.workspaceId,
    eventId: event.id,
    endpointId: sql`column2`,
    status: "pending",
    attempts: 0,
    nextAttemptAt: now,
    leaseId: null,
    leaseUntil: null,
    lastAttemptAt: null,
    lastStatusCode: null,
    lastError: null,
    createdAt: now,
    updatedAt: now,
  }).from(sql`(VALUES ${values})`);
  const onlyIfEvent = sql`EXISTS (SELECT 1 FROM ${events} WHERE ${events.id} = ${event.id})`;
  return db.insert(deliveries).select((guarded ? rows.where(onlyIfEvent) : rows) as never);
}

/**
 * The outbox rows for `pending`: each event and one delivery per subscribed endpoint, as statements
 * to run in the same db.batch as the change that caused them. With `guard`, the events are inserted
 * only where it holds, and each delivery only if its event was.
 */
export async function outboxStatements(db: Db, pending: PendingEvent[], now: number, guard?: SQL) {
  const statements: Statement[] = [];
  const deliveryIds: string[] = [];
  const workspaces = [...new Set(pending.map((e) => e.workspaceId))];
  const subscribers = new Map<string, { id: string; eventTypes: string[] | null }[]>();
  for (const workspaceId of workspaces) {
    subscribers.set(
      workspaceId,
      await db
        .select({ id: webhookEndpoints.id, eventTypes: webhookEndpoints.eventTypes })
        .from(webhookEndpoints)
        .where(and(eq(webhookEndpoints.workspaceId, workspaceId), eq(webhookEndpoints.enabled, true))),
    );
  }
  for (const event of pending) {
    const id = newId("evt", now);
    const payload = JSON.stringify({
      id,
      type: event.type,
      createdAt: iso(now),
      workspaceId: event.workspaceId,
      data: event.data,
    });
    // Every column, in table order (see the delivery below).
    const row = { id, workspaceId: event.workspaceId, type: event.type, payload, createdAt: now };
    statements.push(
      guard
        ? db.insert(events).select(selectConstants(db, row).from(sql`(SELECT 1)`).where(guard) as never)
        : db.insert(events).values(row),
    );
    const targets = (subscribers.get(event.workspaceId) ?? []).filter((endpoint) =>
      event.endpointId
        ? endpoint.id === event.endpointId
        : !endpoint.eventTypes || endpoint.eventTypes.includes(event.type),
    );
    for (let i = 0; i < targets.length; i += DELIVERIES_PER_STATEMENT) {
      const chunk = targets.slice(i, i + DELIVERIES_PER_STATEMENT).map((endpoint) => ({
        id: newId("dlv", now),
        endpointId: endpoint.id,
      }));
      deliveryIds.push(...chunk.map((d) => d.id));
      statements.push(
        deliveryInsert(db, { id, workspaceId: event.workspaceId }, chunk, now, guard !== undefined),
      );
    }
  }
  return { statements, deliveryIds };
}

/**
 * Runs `changes` and the outbox rows of `pending` in one db.batch: all or nothing, so there is no
 * change without its event and no event without its change. Answers the changes' results.
 */
export async function commitWithEvents(db: Db, changes: Statement[], pending: PendingEvent[], now: number) {
  const { statements, deliveryIds } = await outboxStatements(db, pending, now);
  const all = [...changes, ...statements] as unknown as [Statement, ...Statement[]];
  const results: unknown[] = all.length ? await db.batch(all) : [];
  return { results: results.slice(0, changes.length), deliveryIds };
}

/**
 * Like commitWithEvents for a change fenced by a condition (a lease still held): the outbox rows
 * are written only where `guard` holds, checked before the change, in the same batch.
 */
export async function commitGuardedWithEvents(
  db: Db,
  guard: SQL,
  change: Statement,
  pending: PendingEvent[],
  now: number,
  batch: BatchRunner = (statements) => db.batch(statements as [Statement, ...Statement[]]),
) {
  const { statements, deliveryIds } = await outboxStatements(db, pending, now, guard);
  const results = await batch([...statements, change]);
  return { result: results.at(-1), deliveryIds };
}
