import {
  applyD1Migrations,
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  reset,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDb } from "../../src/db/client";
import { accountEvent, commitWithEvents } from "../../src/features/webhooks/events";
import worker from "../../src/index";
import { runScheduled } from "../../src/jobs";
import { consumeWork } from "../../src/jobs/consume";
import type { EnqueueRun } from "../../src/jobs/enqueue";
import type { WorkMessage } from "../../src/jobs/messages";
import { pool } from "../../src/lib/pool";
import { MINUTE, SECOND } from "../../src/lib/time";
import { admin, call, createWorkspace, type TestWorkspace } from "../helpers/api";
import { type FakePlatform, fakePlatform } from "../helpers/fake-provider";
import { twitterMeRoute } from "../helpers/platform-fakes";
import { Receiver } from "../helpers/receiver";
import { dueTwitterAccounts, rowOf } from "../helpers/rows";

const QUEUE = "switchboard-maintenance";

/**
 * Cloudflare's queue binding as a consumer sees it, held in the test: what the cron sends is kept
 * for the test to deliver (once, twice, in any order); `failAfter` rejects every sendBatch after
 * that many, as a queue that went away mid-run would.
 */
class HeldQueue {
  readonly sent: WorkMessage[] = [];
  sends = 0;
  failAfter = Number.POSITIVE_INFINITY;
  async send(body: WorkMessage) {
    await this.sendBatch([{ body }]);
  }
  async sendBatch(messages: Iterable<MessageSendRequest<WorkMessage>>) {
    this.sends += 1;
    if (this.sends > this.failAfter) throw new Error("Queue sendBatch failed: 503");
    const list = [...messages];
    expect(list.length).toBeLessThanOrEqual(100);
    this.sent.push(...list.map((m) => m.body));
  }
  /** The bodies as the queue's consumer receives them: batches of up to 100, each message with an id. */
  batches(size = 100) {
    const out: { id: string; timestamp: number; attempts: number; body: WorkMessage }[][] = [];
    this.sent.forEach((body, i) => {
      const message = { id: `msg-${i}`, timestamp: Date.now(), attempts: 1, body };
      if (i % size === 0) out.push([]);
      out.at(-1)?.push(message);
    });
    return out;
  }
}

const withQueue = (queue: HeldQueue) => Object.create(env, { MAINTENANCE_QUEUE: { value: queue } }) as Env;

type Delivered = { id: string; timestamp: number; attempts: number; body: unknown };

/** Delivers one batch to the Worker's queue() handler and answers what it acknowledged and retried. */
async function consume(messages: Delivered[], queue = QUEUE) {
  const batch = createMessageBatch(queue, messages);
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

/** Whether the consumer settled every message of the batch: each acknowledged, none retried. */
const allAcked = (result: Awaited<ReturnType<typeof consume>>, messages: Delivered[]) =>
  result.retryMessages.length === 0 &&
  (result.ackAll || messages.every((m) => result.explicitAcks.includes(m.id)));

type Report = {
  scheduler: string;
  refreshTokens: EnqueueRun;
  deliverWebhooks: EnqueueRun;
  subrequests: { spent: number; limit: number };
};

let fake: FakePlatform;
let ws: TestWorkspace;

beforeEach(async () => {
  await reset();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  fake = fakePlatform("twitter");
  twitterMeRoute(fake);
  ws = await createWorkspace();
});

afterEach(() => {
  vi.restoreAllMocks();
});

const refreshedCount = async () =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM accounts WHERE last_refreshed_at IS NOT NULL").first<{
      n: number;
    }>()
  )?.n ?? 0;

/** Through Miniflare's own queue (its consumer runs one batch at a time); the 1,000-account cases below hold the messages themselves. */
const REAL_QUEUE = 300;

describe("the cron schedules, the queue's consumers refresh", () => {
  it("through the real local queue: 300 due accounts, one cron run, each refreshed exactly once", async () => {
    const now = Date.now();
    await dueTwitterAccounts(fake, ws.id, REAL_QUEUE, now - MINUTE);
    const ctx = createExecutionContext();
    worker.scheduled(createScheduledController({ scheduledTime: now, cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    for (let waited = 0; (await refreshedCount()) < REAL_QUEUE && waited < 60_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await refreshedCount()).toBe(REAL_QUEUE);
    expect(fake.refreshRequests).toBe(REAL_QUEUE);
  }, 90_000);
});

describe("a message is safe to deliver twice", () => {
  it("two overlapping cron runs enqueue 1,000 accounts once; every message delivered twice still means 1,000 token requests", async () => {
    const now = Date.now();
    await dueTwitterAccounts(fake, ws.id, 1000, now - MINUTE);
    const queue = new HeldQueue();
    const [one, two] = (await Promise.all([
      runScheduled(withQueue(queue), now),
      runScheduled(withQueue(queue), now),
    ])) as Report[];
    expect(one?.scheduler).toBe("queue");
    expect((one?.refreshTokens.enqueued ?? 0) + (two?.refreshTokens.enqueued ?? 0)).toBe(1000);
    const ids = queue.sent.map((m) => (m.kind === "refresh" ? m.accountId : ""));
    expect(new Set(ids).size).toBe(1000);
    expect(one?.subrequests.spent).toBeLessThanOrEqual(one?.subrequests.limit ?? 0);

    // Each batch reaches two consumers at once, as an at-least-once queue may do.
    const batches = queue.batches();
    const results = await Promise.all(batches.flatMap((batch) => [consume(batch), consume(batch)]));
    results.forEach((result, i) => {
      expect(allAcked(result, batches[Math.floor(i / 2)] ?? [])).toBe(true);
    });
    expect(fake.refreshRequests).toBe(1000);
    expect(await refreshedCount()).toBe(1000);
    // A refresh token presented twice kills its grant at the fake.
    expect(fake.grants.filter((g) => g.revoked)).toHaveLength(0);

    // Delivered a third time, later: nothing is due, nothing is spent.
    const again = await consume(batches[0] ?? []);
    expect(allAcked(again, batches[0] ?? [])).toBe(true);
    expect(fake.refreshRequests).toBe(1000);
  }, 60_000);

  it("a consumer that crashes mid-batch: the rest come back, none refreshed twice, no refresh token spent twice", async () => {
    const now = Date.now();
    await dueTwitterAccounts(fake, ws.id, 100, now - MINUTE);
    const queue = new HeldQueue();
    await runScheduled(withQueue(queue), now);
    const [messages = []] = queue.batches();
    expect(messages).toHaveLength(100);

    // D1 refuses every lease the consumer tries to take after its fourth (4 x 12 accounts): the
    // refreshes under way finish and are acknowledged, then the invocation throws.
    let takes = 0;
    const crashing = Object.create(env, {
      DB: {
        value: new Proxy(env.DB, {
          get(target, prop) {
            const value = Reflect.get(target, prop, target) as (...a: unknown[]) => unknown;
            if (prop !== "prepare") return typeof value === "function" ? value.bind(target) : value;
            return (query: string) => {
              if (/^update "accounts" set "refresh_lease_id"/.test(query) && ++takes > 4)
                throw new Error("D1_ERROR: the invocation is gone");
              return value.call(target, query);
            };
          },
        }),
      },
    }) as Env;
    vi.spyOn(console, "error").mockImplementation(() => {});
    const batch = createMessageBatch(QUEUE, messages);
    await expect(consumeWork(batch, crashing)).rejects.toThrow("the invocation is gone");
    // What a crashed invocation had under way still ends (its lanes were not cancelled).
    while (fake.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ctx = createExecutionContext();
    const crashed = await getQueueResult(batch, ctx);
    const done = fake.refreshRequests;
    expect(done).toBeGreaterThanOrEqual(24);
    expect(done).toBeLessThan(100);

    // Queues redelivers every message the crashed invocation did not acknowledge, after the
    // consumer's retry_delay (75 s): past the 60 s leases the crash left behind.
    const back = messages
      .filter((m) => !crashed.explicitAcks.includes(m.id))
      .map((m) => ({ ...m, attempts: 2 }));
    expect(back.length).toBeGreaterThanOrEqual(100 - done);
    const later = () => Date.now() + 75 * SECOND;
    const retried = createMessageBatch(QUEUE, back);
    await consumeWork(retried, env, { clock: later });
    const settled = await getQueueResult(retried, createExecutionContext());
    expect(settled.retryMessages).toHaveLength(0);
    expect(fake.refreshRequests).toBe(100);
    expect(await refreshedCount()).toBe(100);
    expect(fake.grants.filter((g) => g.revoked)).toHaveLength(0);
  }, 60_000);

  it("a message for a deleted or disconnected account is acknowledged and does nothing", async () => {
    const now = Date.now();
    const [deleted, disconnected, kept] = await dueTwitterAccounts(fake, ws.id, 3, now - MINUTE);
    const queue = new HeldQueue();
    await runScheduled(withQueue(queue), now);
    await env.DB.prepare("DELETE FROM accounts WHERE id = ?").bind(deleted).run();
    await env.DB.prepare("UPDATE accounts SET status = 'disconnected' WHERE id = ?").bind(disconnected).run();
    const [messages = []] = queue.batches();
    const result = await consume(messages);
    expect(allAcked(result, messages)).toBe(true);
    expect(fake.refreshRequests).toBe(1);
    expect(await rowOf(kept as string)).toMatchObject({ status: "active", refresh_lease_id: null });
    expect(await rowOf(disconnected as string)).toMatchObject({
      status: "disconnected",
      last_refreshed_at: null,
    });
  });

  it("a refresh someone else did meanwhile (POST …/refresh on a queued account) is not done again", async () => {
    const now = Date.now();
    const [id] = await dueTwitterAccounts(fake, ws.id, 1, now - MINUTE);
    const queue = new HeldQueue();
    await runScheduled(withQueue(queue), now);
    // The queued lease does not block the API: nothing runs under it.
    const res = await call(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key });
    expect(res.status, res.text).toBe(200);
    const [messages = []] = queue.batches();
    expect(allAcked(await consume(messages), messages)).toBe(true);
    expect(fake.refreshRequests).toBe(1);
  });
});

describe("the scheduler's failures", () => {
  it("a send that fails half-way hands its claim back at once; the next run enqueues it and nothing is lost", async () => {
    const now = Date.now();
    await dueTwitterAccounts(fake, ws.id, 500, now - MINUTE);
    const queue = new HeldQueue();
    queue.failAfter = 2;
    vi.spyOn(console, "error").mockImplementation(() => {});
    const first = (await runScheduled(withQueue(queue), now)) as Report;
    expect(first.refreshTokens).toMatchObject({ enqueued: 200, released: 300 });
    const held = await env.DB.prepare(
      "SELECT count(*) AS n FROM accounts WHERE refresh_lease_id IS NOT NULL",
    ).first<{
      n: number;
    }>();
    expect(held?.n).toBe(0);

    queue.failAfter = Number.POSITIVE_INFINITY;
    const second = (await runScheduled(withQueue(queue), now + MINUTE)) as Report;
    expect(second.refreshTokens.enqueued).toBe(500);
    // 700 messages for 500 accounts: the 200 sent before the failure arrive twice.
    const results = await Promise.all(queue.batches().map((batch) => consume(batch)));
    expect(results.every((r) => r.retryMessages.length === 0)).toBe(true);
    expect(fake.refreshRequests).toBe(500);
    expect(await refreshedCount()).toBe(500);
  }, 60_000);

  it("without a queue binding the cron refreshes by itself, as on a deployment with none", async () => {
    const now = Date.now();
    await dueTwitterAccounts(fake, ws.id, 20, now - MINUTE);
    const bare = Object.create(env, { MAINTENANCE_QUEUE: { value: undefined } }) as Env;
    const report = (await runScheduled(bare, now)) as {
      scheduler: string;
      refreshTokens: { outcomes: { refreshed: number } };
    };
    expect(report.scheduler).toBe("cron");
    expect(report.refreshTokens.outcomes.refreshed).toBe(20);
    expect(fake.refreshRequests).toBe(20);
  });
});

describe("poison messages", () => {
  it("a malformed message is retried without blocking its batch, and once dead-lettered it is logged and counted", async () => {
    const now = Date.now();
    await dueTwitterAccounts(fake, ws.id, 1, now - MINUTE);
    const queue = new HeldQueue();
    await runScheduled(withQueue(queue), now);
    const logged: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => {
      logged.push(String(line));
    });
    const poison = {
      id: "msg-poison",
      timestamp: now,
      attempts: 1,
      body: { kind: "refresh", accountId: 42 },
    };
    const [[good] = []] = queue.batches();
    const result = await consume([poison, good as Delivered]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["msg-poison"]);
    expect(result.explicitAcks).toContain(good?.id);
    expect(fake.refreshRequests).toBe(1);

    // After max_retries Queues moves it to the dead-letter queue, whose consumer records it.
    const dead = await consume([{ ...poison, attempts: 6 }], `${QUEUE}-dlq`);
    expect(dead.ackAll || dead.explicitAcks.includes("msg-poison")).toBe(true);
    await consume([{ ...poison, attempts: 6 }], `${QUEUE}-dlq`);
    expect(logged.map((line) => JSON.parse(line).event)).toContain("queue_dead_letter");
    const res = await admin("/dead-letters");
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({
      total: 1,
      data: [{ messageId: "msg-poison", kind: "malformed", targetId: null, attempts: 6 }],
    });
  });
});

/** Events at once in the storm test; `npm run bench` drains 10,000 (bench/results.json, fanout). */
const STORM = 1000;

describe("webhook deliveries through the queue", () => {
  it("an event storm (1,000 accounts breaking at once) drains within every invocation's limits", async () => {
    const receiver = new Receiver();
    const created = await call("/v1/webhooks", { method: "POST", key: ws.key, body: { url: receiver.url } });
    expect(created.status, created.text).toBe(201);
    const now = Date.now();
    const db = createDb(env.DB);
    for (let i = 0; i < STORM; i += 500) {
      const pending = Array.from({ length: 500 }, (_, j) =>
        accountEvent(
          "account.error",
          {
            id: `acc_storm${i + j}`,
            platform: "twitter",
            status: "error",
            username: `@s${i + j}`,
            displayName: "S",
            workspaceId: ws.id,
          },
          { code: "invalid_grant", message: "Refresh token revoked" },
        ),
      );
      await commitWithEvents(db, [], pending, now);
    }
    const queue = new HeldQueue();
    const report = (await runScheduled(withQueue(queue), now)) as Report;
    expect(report.deliverWebhooks.enqueued).toBe(STORM);
    expect(report.subrequests.spent).toBeLessThanOrEqual(report.subrequests.limit);

    // Four consumers at a time (each its own invocation in production, its own budget here).
    const budgets: number[] = [];
    await pool(queue.batches(), 4, async (messages) => {
      const batch = createMessageBatch(QUEUE, messages);
      const run = await consumeWork(batch, env);
      budgets.push(run.subrequests);
      const result = await getQueueResult(batch, createExecutionContext());
      expect(result.retryMessages).toHaveLength(0);
    });
    expect(receiver.requests).toHaveLength(STORM);
    expect(new Set(receiver.requests.map((r) => r.id)).size).toBe(STORM);
    // D1's 1,000 queries per invocation, less the tenth the budget never spends.
    expect(Math.max(...budgets)).toBeLessThanOrEqual(900);
    const pending = await env.DB.prepare(
      "SELECT count(*) AS n FROM deliveries WHERE status = 'pending'",
    ).first<{ n: number }>();
    expect(pending?.n).toBe(0);
  }, 90_000);
});
