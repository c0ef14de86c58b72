import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDb } from "../../src/db/client";
import {
  attemptDelivery,
  claimDeliveries,
  deliverDue,
  deliverNow,
} from "../../src/features/webhooks/delivery.service";
import { accountEvent, commitWithEvents } from "../../src/features/webhooks/events";
import { deliverWebhooks } from "../../src/jobs/deliver-webhooks";
import { DAY, HOUR, MINUTE, SECOND } from "../../src/lib/time";
import { call, createWorkspace, type TestWorkspace } from "../helpers/api";
import { fakeServer } from "../helpers/fake-provider";
import {
  deliveriesOf,
  endpointRow,
  type Received,
  Receiver,
  settleDeliveries,
  signedBy,
} from "../helpers/receiver";

/** The Standard Webhooks schedule, as the waits after each failed attempt. */
const SCHEDULE = [
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
/** When the 10th and last attempt lands: 75 h 35 min 5 s after the first. */
const LAST_ATTEMPT = SCHEDULE.reduce((a, b) => a + b, 0);

let ws: TestWorkspace;
const db = createDb(env.DB);

beforeEach(async () => {
  ws = await createWorkspace();
});

afterEach(async () => {
  await settleDeliveries();
  fakeServer.resetHandlers();
});

/** A whole second, so webhook-timestamp (seconds) times attempts exactly. */
const second = (ms: number) => Math.floor(ms / 1000) * 1000;

async function endpointFor(receiver: Receiver, body: Record<string, unknown> = {}) {
  const res = await call("/v1/webhooks", {
    method: "POST",
    key: ws.key,
    body: { url: receiver.url, ...body },
  });
  expect(res.status, res.text).toBe(201);
  return { id: res.json.webhook.id as string, secret: res.json.secret as string };
}

/** `count` account.error events written at `now`, each with its deliveries (one per subscribed endpoint). */
async function emit(count: number, now: number) {
  const pending = Array.from({ length: count }, (_, i) =>
    accountEvent(
      "account.error",
      {
        id: `acc_stub${i}`,
        platform: "twitter",
        status: "error",
        username: `@u${i}`,
        displayName: `U ${i}`,
        workspaceId: ws.id,
      },
      { code: "invalid_grant", message: "Refresh token revoked" },
    ),
  );
  const { deliveryIds } = await commitWithEvents(db, [], pending, now);
  return deliveryIds;
}

async function nextDue(endpointId: string): Promise<number | null> {
  const row = await env.DB.prepare(
    "SELECT min(next_attempt_at) AS t FROM deliveries WHERE endpoint_id = ? AND status = 'pending'",
  )
    .bind(endpointId)
    .first<{ t: number | null }>();
  return row?.t ?? null;
}

/**
 * Runs the cron's delivery job at `start`, then at each next due time read from D1 (jumping
 * simulated time rather than stepping through it), until nothing of this endpoint is pending.
 * Answers the times the job ran.
 */
async function runSchedule(endpointId: string, start: number) {
  const runs: number[] = [];
  let now: number | null = start;
  while (now !== null) {
    if (runs.length > 50) throw new Error("the schedule does not end");
    await deliverWebhooks(env, now, { budgetMs: 120_000 });
    runs.push(now);
    now = await nextDue(endpointId);
  }
  return runs;
}

const payloadId = (req: Received) => (JSON.parse(req.body) as { id: string }).id;

function byEvent(requests: Received[]) {
  const groups = new Map<string, Received[]>();
  for (const req of requests) {
    const id = payloadId(req);
    groups.set(id, [...(groups.get(id) ?? []), req]);
  }
  return groups;
}

/** Offsets of the 10 attempts from the first: 0, 5 s, 5 min 5 s, … 75 h 35 min 5 s. */
const cumulative = [0];
for (const wait of SCHEDULE) cumulative.push((cumulative.at(-1) as number) + wait);

describe("retries on the Standard Webhooks schedule", () => {
  it("a receiver down for 72 simulated hours gets all 100 events once it returns, on schedule, same id, signed", async () => {
    const receiver = new Receiver();
    const { id, secret } = await endpointFor(receiver);
    const t0 = second(Date.now());
    // Down while the request's own (simulated) timestamp is within 72 h of the start.
    receiver.reply = (req) =>
      req.timestamp * 1000 < t0 + 72 * HOUR
        ? new Response("maintenance", { status: 503 })
        : new Response(null, { status: 204 });

    expect(await emit(100, t0)).toHaveLength(100);
    // The first attempts are the cron's too here (as when waitUntil never ran), then every retry.
    const runs = await runSchedule(id, t0);

    // The cron ran exactly at each scheduled retry, the 10th attempt at ~75.6 h.
    expect(runs.map((t) => t - t0)).toEqual(cumulative);
    expect(LAST_ATTEMPT).toBe(75 * HOUR + 35 * MINUTE + 5 * SECOND);

    const rows = await deliveriesOf(id);
    expect(rows).toHaveLength(100);
    for (const row of rows) {
      expect(row).toMatchObject({
        status: "succeeded",
        attempts: 10,
        last_status_code: 204,
        next_attempt_at: null,
      });
      expect(row.last_attempt_at).toBe(t0 + LAST_ATTEMPT);
    }
    expect(await endpointRow(id)).toMatchObject({ enabled: 1, failing_since: null });

    expect(receiver.requests).toHaveLength(1000);
    expect(receiver.delivered).toHaveLength(100);
    const groups = byEvent(receiver.requests);
    expect(groups.size).toBe(100);
    for (const [eventId, attempts] of groups) {
      expect(attempts).toHaveLength(10);
      // webhook-id is the event's id on every attempt; the body never changes.
      expect(new Set(attempts.map((r) => r.id))).toEqual(new Set([eventId]));
      expect(new Set(attempts.map((r) => r.body)).size).toBe(1);
      expect(attempts.map((r) => r.timestamp * 1000 - t0)).toEqual(cumulative);
      expect(attempts.filter((r) => r.status === 204)).toHaveLength(1);
      expect(attempts.at(-1)?.status).toBe(204);
    }
    // Every request verifies with the standardwebhooks package's own signer at its timestamp.
    for (const req of receiver.requests) {
      expect(req.signatures).toHaveLength(1);
      expect(signedBy(secret, req)).toBe(true);
    }
    const one = receiver.delivered[0] as Received;
    expect(JSON.parse(one.body)).toMatchObject({
      type: "account.error",
      workspaceId: ws.id,
      data: {
        account: { platform: "TWITTER", status: "ERROR" },
        error: { code: "invalid_grant", message: "Refresh token revoked" },
      },
    });
    // A fixed 1,000 attempts (about 5 s on a quiet machine); the bound only catches a hang.
  }, 60_000);

  it("a receiver down for 100 hours: every delivery fails after the 10th attempt; recover redelivers them", async () => {
    const receiver = new Receiver();
    const { id, secret } = await endpointFor(receiver);
    const t0 = second(Date.now());
    let down = true;
    receiver.reply = () =>
      down ? new Response("down", { status: 503 }) : new Response(null, { status: 200 });

    await emit(100, t0);
    const runs = await runSchedule(id, t0);
    expect(runs.at(-1)).toBe(t0 + LAST_ATTEMPT);

    const rows = await deliveriesOf(id);
    expect(rows).toHaveLength(100);
    for (const row of rows) {
      expect(row).toMatchObject({
        status: "failed",
        attempts: 10,
        next_attempt_at: null,
        last_status_code: 503,
        last_error: "HTTP 503",
        last_attempt_at: t0 + LAST_ATTEMPT,
      });
    }
    expect(receiver.requests).toHaveLength(1000);
    expect(receiver.delivered).toHaveLength(0);
    // Nothing more is tried, even at 100 h.
    expect(await deliverWebhooks(env, t0 + 100 * HOUR)).toEqual({ attempted: 0, delivered: 0 });
    expect(receiver.requests).toHaveLength(1000);

    const listed = await call(`/v1/webhooks/${id}/deliveries?status=failed&limit=100`, { key: ws.key });
    expect(listed.json.data).toHaveLength(100);
    expect(listed.json.data[0]).toMatchObject({ status: "failed", attempts: 10, lastStatusCode: 503 });

    // The receiver is back. Recover only counts failed deliveries created since `since`.
    down = false;
    const recover = (since: number) =>
      call(`/v1/webhooks/${id}/recover`, {
        method: "POST",
        key: ws.key,
        body: { since: new Date(since).toISOString() },
      });
    const none = await recover(t0 + 1);
    expect(none.status, none.text).toBe(200);
    expect(none.json).toEqual({ recovered: 0 });
    const all = await recover(t0);
    expect(all.json).toEqual({ recovered: 100 });

    // The first attempt runs in waitUntil; the next cron run delivers whatever it has not.
    await vi.waitFor(
      async () => {
        await deliverWebhooks(env, Date.now());
        const after = await deliveriesOf(id);
        expect(after.filter((r) => r.status === "succeeded")).toHaveLength(100);
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(receiver.requests).toHaveLength(1100);
    expect(receiver.delivered).toHaveLength(100);
    const delivered = byEvent(receiver.delivered);
    expect(delivered.size).toBe(100);
    for (const [eventId, [req]] of delivered) {
      expect(req?.id).toBe(eventId);
      expect(signedBy(secret, req as Received)).toBe(true);
    }
    for (const row of await deliveriesOf(id)) {
      expect(row).toMatchObject({ status: "succeeded", attempts: 1, last_status_code: 200 });
    }
    // Fixed work, as above: the bound only catches a hang, never a slow machine.
  }, 60_000);
});

describe("recover", () => {
  it("makes the first attempt of every recovered delivery right away, however many there are", async () => {
    const receiver = new Receiver();
    const { id } = await endpointFor(receiver);
    const t0 = second(Date.now());
    await emit(120, t0);
    await env.DB.prepare(
      "UPDATE deliveries SET status = 'failed', attempts = 10, next_attempt_at = NULL, last_status_code = 503 WHERE endpoint_id = ?",
    )
      .bind(id)
      .run();
    const res = await call(`/v1/webhooks/${id}/recover`, {
      method: "POST",
      key: ws.key,
      body: { since: new Date(t0).toISOString() },
    });
    expect(res.json).toEqual({ recovered: 120 });
    // No cron run here: only the waitUntil first attempt.
    await vi.waitFor(
      async () => {
        const rows = await deliveriesOf(id);
        expect(rows.filter((r) => r.status === "succeeded")).toHaveLength(120);
      },
      { timeout: 3000, interval: 50 },
    );
    expect(receiver.requests).toHaveLength(120);
  });

  it("puts back only failed deliveries of that endpoint", async () => {
    const receiver = new Receiver();
    const other = new Receiver();
    const { id } = await endpointFor(receiver);
    const { id: otherId } = await endpointFor(other);
    const t0 = second(Date.now());
    await emit(3, t0);
    const [failed, succeeded] = await deliveriesOf(id);
    await env.DB.prepare(
      "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL WHERE id = ? OR endpoint_id = ?",
    )
      .bind(failed?.id, otherId)
      .run();
    await env.DB.prepare("UPDATE deliveries SET status = 'succeeded', next_attempt_at = NULL WHERE id = ?")
      .bind(succeeded?.id)
      .run();
    const res = await call(`/v1/webhooks/${id}/recover`, {
      method: "POST",
      key: ws.key,
      body: { since: new Date(t0 - DAY).toISOString() },
    });
    expect(res.json).toEqual({ recovered: 1 });
    await vi.waitFor(
      async () => expect((await deliveriesOf(id)).find((r) => r.id === failed?.id)?.status).toBe("succeeded"),
      {
        timeout: 5000,
        interval: 20,
      },
    );
    expect((await deliveriesOf(otherId)).map((r) => r.status)).toEqual(["failed", "failed", "failed"]);
    expect(other.requests).toHaveLength(0);
    expect((await deliveriesOf(id)).find((r) => r.id === succeeded?.id)?.attempts).toBe(0);
  });
});

describe("how an attempt's answer is handled", () => {
  it("410 Gone disables the endpoint; its pending deliveries end failed without being sent", async () => {
    const receiver = new Receiver();
    receiver.reply = () => new Response("gone", { status: 410 });
    const { id } = await endpointFor(receiver);
    const t0 = second(Date.now());
    const deliveryIds = await emit(3, t0);
    const [result] = await deliverNow({ env, db, now: t0 }, deliveryIds.slice(0, 1));
    expect(result).toMatchObject({ ok: false, statusCode: 410, error: "HTTP 410" });

    const row = await endpointRow(id);
    expect(row).toMatchObject({ enabled: 0, disabled_reason: expect.stringContaining("410") });
    const api = await call(`/v1/webhooks/${id}`, { key: ws.key });
    expect(api.json).toMatchObject({ enabled: false, disabledReason: expect.stringContaining("410") });

    await deliverWebhooks(env, t0);
    expect(receiver.requests).toHaveLength(1);
    const rows = await deliveriesOf(id);
    expect(rows.map((r) => r.status)).toEqual(["failed", "failed", "failed"]);
    for (const r of rows) expect(r.next_attempt_at).toBeNull();
    expect(rows.find((r) => r.id === deliveryIds[0])).toMatchObject({ attempts: 1, last_status_code: 410 });
    for (const r of rows.filter((r) => r.id !== deliveryIds[0])) {
      expect(r.last_error).toMatch(/^Endpoint disabled/);
    }
    // A disabled endpoint gets no new deliveries.
    expect(await emit(1, t0 + MINUTE)).toEqual([]);
  });

  it("429 with Retry-After: 3600 puts the next attempt no earlier than an hour later", async () => {
    const receiver = new Receiver();
    receiver.reply = () => new Response("slow down", { status: 429, headers: { "retry-after": "3600" } });
    const { id } = await endpointFor(receiver);
    const t0 = second(Date.now());
    const deliveryIds = await emit(1, t0);
    await deliverNow({ env, db, now: t0 }, deliveryIds);
    const [row] = await deliveriesOf(id);
    expect(row).toMatchObject({ status: "pending", attempts: 1, last_status_code: 429 });
    expect(row?.next_attempt_at).toBeGreaterThanOrEqual(t0 + HOUR);

    expect((await deliverWebhooks(env, t0 + 5 * SECOND)).attempted).toBe(0);
    expect((await deliverWebhooks(env, t0 + 30 * MINUTE)).attempted).toBe(0);
    receiver.reply = () => new Response(null, { status: 204 });
    expect(await deliverWebhooks(env, t0 + HOUR)).toEqual({ attempted: 1, delivered: 1 });
    expect(receiver.requests.map((r) => r.timestamp * 1000 - t0)).toEqual([0, HOUR]);
  });

  it("503 honours Retry-After as seconds or as a date, and never retries sooner than the schedule", async () => {
    const receiver = new Receiver();
    const { id } = await endpointFor(receiver);
    const t0 = second(Date.now());
    const answers = [
      { "retry-after": "120" },
      { "retry-after": new Date(t0 + 2 * HOUR).toUTCString() },
      { "retry-after": "1" },
    ];
    await emit(answers.length, t0);
    const rows = await deliveriesOf(id);
    for (const [i, row] of rows.entries()) {
      receiver.reply = () => new Response("busy", { status: 503, headers: answers[i] });
      await deliverNow({ env, db, now: t0 }, [row.id]);
    }
    const after = await deliveriesOf(id);
    expect(after.map((r) => (r.next_attempt_at ?? 0) - t0)).toEqual([120 * SECOND, 2 * HOUR, 5 * SECOND]);
  });

  it("a 302 redirect is a failure and is not followed", async () => {
    const receiver = new Receiver();
    const target = new Receiver();
    receiver.reply = () => new Response(null, { status: 302, headers: { location: target.url } });
    const { id } = await endpointFor(receiver);
    const t0 = second(Date.now());
    const [result] = await deliverNow({ env, db, now: t0 }, await emit(1, t0));
    expect(result).toMatchObject({ ok: false, statusCode: 302 });
    expect(receiver.requests).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
    const [row] = await deliveriesOf(id);
    expect(row).toMatchObject({
      status: "pending",
      attempts: 1,
      last_status_code: 302,
      next_attempt_at: t0 + 5 * SECOND,
    });
  });

  it("only 2xx succeeds: 200, 202, 204, 299 pass; 3xx, 4xx and 5xx fail", async () => {
    const receiver = new Receiver();
    const { id } = await endpointFor(receiver);
    const t0 = second(Date.now());
    const statuses = [200, 202, 204, 299, 300, 304, 400, 401, 404, 500, 502];
    const ids = await emit(statuses.length, t0);
    const outcomes: Record<number, boolean> = {};
    for (const [i, status] of statuses.entries()) {
      receiver.reply = () => new Response(null, { status });
      const [result] = await deliverNow({ env, db, now: t0 }, [ids[i] as string]);
      outcomes[status] = result?.ok as boolean;
    }
    expect(outcomes).toEqual({
      200: true,
      202: true,
      204: true,
      299: true,
      300: false,
      304: false,
      400: false,
      401: false,
      404: false,
      500: false,
      502: false,
    });
    expect((await endpointRow(id))?.enabled).toBe(1);
  });

  it("a network failure is retried on the schedule", async () => {
    const receiver = new Receiver();
    receiver.reply = () => Response.error();
    const { id } = await endpointFor(receiver);
    const t0 = second(Date.now());
    const [result] = await deliverNow({ env, db, now: t0 }, await emit(1, t0));
    expect(result).toMatchObject({ ok: false, statusCode: null, error: "Network error" });
    expect((await deliveriesOf(id))[0]).toMatchObject({
      status: "pending",
      next_attempt_at: t0 + 5 * SECOND,
    });
  });

  it("an endpoint failing for 5 days straight is disabled; a success resets the count", async () => {
    const receiver = new Receiver();
    receiver.reply = () => new Response("broken", { status: 500 });
    const { id } = await endpointFor(receiver);
    const t0 = second(Date.now());
    const setFailingSince = (at: number | null) =>
      env.DB.prepare("UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?").bind(at, id).run();

    // One minute short of 5 days: still retried, still enabled.
    await setFailingSince(t0 - 5 * DAY + MINUTE);
    await deliverNow({ env, db, now: t0 }, await emit(1, t0));
    expect(await endpointRow(id)).toMatchObject({ enabled: 1, failing_since: t0 - 5 * DAY + MINUTE });
    expect((await deliveriesOf(id))[0]).toMatchObject({ status: "pending", attempts: 1 });

    // A success ends the run of failures.
    receiver.reply = () => new Response(null, { status: 204 });
    await deliverWebhooks(env, t0 + 5 * SECOND);
    expect(await endpointRow(id)).toMatchObject({ enabled: 1, failing_since: null });

    // The first failure starts a new run.
    receiver.reply = () => new Response("broken", { status: 500 });
    await deliverNow({ env, db, now: t0 + MINUTE }, await emit(1, t0 + MINUTE));
    expect(await endpointRow(id)).toMatchObject({ failing_since: t0 + MINUTE });

    // Failing for exactly 5 days: the next failure disables the endpoint and fails its delivery.
    await setFailingSince(t0 - 5 * DAY);
    const ids = await emit(1, t0);
    await deliverWebhooks(env, t0 + 10 * MINUTE);
    expect(await endpointRow(id)).toMatchObject({
      enabled: 0,
      disabled_reason: expect.stringContaining("5 days"),
    });
    expect((await deliveriesOf(id)).find((r) => r.id === ids[0])).toMatchObject({
      status: "failed",
      next_attempt_at: null,
    });
    const api = await call(`/v1/webhooks/${id}`, { key: ws.key });
    expect(api.json).toMatchObject({ enabled: false, disabledReason: expect.stringContaining("5 days") });
  });
});

describe("secret rotation", () => {
  it("signs with both secrets for 24 hours, then with the new one only", async () => {
    const receiver = new Receiver();
    const { id, secret: old } = await endpointFor(receiver);
    const rotated = await call(`/v1/webhooks/${id}/rotate-secret`, { method: "POST", key: ws.key });
    expect(rotated.status, rotated.text).toBe(200);
    const fresh = rotated.json.secret as string;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(old);
    const until = Date.parse(rotated.json.webhook.secretRotatedUntil);
    expect(until - Date.now()).toBeGreaterThan(24 * HOUR - MINUTE);
    expect(until - Date.now()).toBeLessThanOrEqual(24 * HOUR);
    const row = await endpointRow(id);
    for (const s of [old, fresh]) expect(JSON.stringify(row)).not.toContain(s.slice(6));
    expect(String(row?.previous_secret_enc)).toMatch(/^k2\./);
    const got = await call(`/v1/webhooks/${id}`, { key: ws.key });
    expect(got.text).not.toContain("whsec_");
    expect(got.json.secretRotatedUntil).toBe(rotated.json.webhook.secretRotatedUntil);

    // During the overlap: two signatures; the package verifies with either secret (real clock).
    receiver.secrets = [old, fresh];
    const now = Date.now();
    const [during] = await deliverNow({ env, db, now: now }, await emit(1, now));
    expect(during?.ok).toBe(true);
    const [a] = receiver.requests;
    expect(a?.signatures).toHaveLength(2);
    expect(a?.verified).toEqual([true, true]);
    expect(signedBy(old, a as Received)).toBe(true);
    expect(signedBy(fresh, a as Received)).toBe(true);

    // After 24 hours: the new secret only.
    receiver.secrets = [];
    const later = until + SECOND;
    await deliverNow({ env, db, now: later }, await emit(1, later));
    const b = receiver.requests[1] as Received;
    expect(b.signatures).toHaveLength(1);
    expect(signedBy(fresh, b)).toBe(true);
    expect(signedBy(old, b)).toBe(false);
    const after = await call(`/v1/webhooks/${id}`, { key: ws.key });
    expect(after.json.secretRotatedUntil).toBe(rotated.json.webhook.secretRotatedUntil);
  });
});

describe("the delivery lease", () => {
  it("two cron runs at once over 50 due deliveries send each exactly once", async () => {
    const receiver = new Receiver();
    const { id } = await endpointFor(receiver);
    const t0 = second(Date.now());
    const ids = await emit(50, t0);
    expect(ids).toHaveLength(50);
    const [one, two] = await Promise.all([
      deliverDue({ env, db, now: t0 }),
      deliverDue({ env, db, now: t0 }),
    ]);
    expect((one?.length ?? 0) + (two?.length ?? 0)).toBe(50);
    expect(receiver.requests).toHaveLength(50);
    expect(new Set(receiver.requests.map((r) => r.id)).size).toBe(50);
    const rows = await deliveriesOf(id);
    expect(rows.every((r) => r.status === "succeeded" && r.attempts === 1)).toBe(true);
  });

  it("a held lease keeps a delivery from another run until it expires", async () => {
    const receiver = new Receiver();
    const { id } = await endpointFor(receiver);
    const t0 = second(Date.now());
    const [deliveryId] = await emit(1, t0);
    const [held] = await claimDeliveries(db, "crashed-run", t0, { ids: [deliveryId as string] });
    expect(held?.leaseUntil).toBe(t0 + 60 * SECOND);
    expect(await claimDeliveries(db, "other-run", t0 + 30 * SECOND, { limit: 10 })).toEqual([]);
    expect(await deliverWebhooks(env, t0 + 30 * SECOND)).toEqual({ attempted: 0, delivered: 0 });
    expect(receiver.requests).toHaveLength(0);
    // The run that held it lost it: its late write changes nothing.
    expect(await deliverWebhooks(env, t0 + 61 * SECOND)).toEqual({ attempted: 1, delivered: 1 });
    if (!held) throw new Error("not claimed");
    const late = await attemptDelivery({ env, db, now: t0 + 62 * SECOND }, held);
    expect(late.ok).toBe(true);
    expect((await deliveriesOf(id))[0]).toMatchObject({
      status: "succeeded",
      attempts: 1,
      last_attempt_at: t0 + 61 * SECOND,
    });
  });
});
