import type { Db } from "../db/client";
import { createDb } from "../db/client";
import { deadLetters } from "../db/schema";
import { newLeaseId, takeQueuedAccounts } from "../features/accounts/refresh.service";
import { attemptDelivery, claimDeliveries } from "../features/webhooks/delivery.service";
import { MAX_CONCURRENCY, pool } from "../lib/pool";
import { SECOND } from "../lib/time";
import { metered, type SubrequestBudget } from "./budget";
import { DEAD_LETTER_SUFFIX, type WorkMessage, WorkMessageSchema } from "./messages";
import { type RefreshSource, refreshInLanes } from "./refresh-tokens";

/** Accounts a consumer leases per statement: two per lane, so a lease is taken just before its refresh. */
export const CONSUMER_CLAIM = 2 * MAX_CONCURRENCY;
/** Wall-clock budget of one consumer invocation; what it did not reach is retried. */
export const CONSUMER_BUDGET_MS = 60 * SECOND;
/** One delivery attempt at worst: its lookup, the POST, the statements that record it. */
const WORST_ATTEMPT_SUBREQUESTS = 3;
/** Deliveries claimed per statement (D1 binds at most 100 parameters). */
const DELIVERY_CLAIM = 90;

export interface ConsumeOptions {
  clock?: () => number;
  budgetMs?: number;
  providerTimeoutMs?: number;
}

export interface ConsumeRun {
  refreshed: number;
  /** Messages with nothing left to do (refreshed meanwhile, disconnected, deleted, held elsewhere). */
  skipped: number;
  attempted: number;
  retried: number;
  malformed: number;
  subrequests: number;
}

const log = (event: string, fields: Record<string, unknown>) =>
  console.error(JSON.stringify({ level: "error", event, ...fields }));

/**
 * The maintenance queue's consumer: refreshes through the cron's lane engine (one code path, one
 * lease, six lanes, its own subrequest budget), then attempts the deliveries it was sent and those
 * its refreshes caused. A message is acknowledged once its work is done or moot; retried only when
 * this consumer failed it (our own error, or time ran out), never for a provider's refusal, which
 * is the account's own error path.
 */
export async function consumeWork(
  batch: MessageBatch<unknown>,
  rawEnv: Env,
  options: ConsumeOptions = {},
): Promise<ConsumeRun> {
  if (batch.queue.endsWith(DEAD_LETTER_SUFFIX)) {
    await recordDeadLetters(batch, rawEnv, (options.clock ?? Date.now)());
    return { refreshed: 0, skipped: 0, attempted: 0, retried: 0, malformed: 0, subrequests: 0 };
  }
  const { env, budget } = metered(rawEnv);
  const db = createDb(env.DB);
  const clock = options.clock ?? Date.now;
  const now = clock();
  const deadline = now + (options.budgetMs ?? CONSUMER_BUDGET_MS);
  const run: ConsumeRun = {
    refreshed: 0,
    skipped: 0,
    attempted: 0,
    retried: 0,
    malformed: 0,
    subrequests: 0,
  };
  const retry = (message: Message<unknown>) => {
    message.retry();
    run.retried += 1;
  };

  // One message per account and per delivery: a copy in the same batch is done once.
  const refreshes = new Map<string, { message: Message<unknown>; requestedAt: number }>();
  const sent = new Map<string, Message<unknown>>();
  for (const message of batch.messages) {
    const parsed = WorkMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      // Poison: retried until it reaches the dead-letter queue, where it is recorded.
      log("queue_message_malformed", { messageId: message.id, attempts: message.attempts });
      run.malformed += 1;
      retry(message);
      continue;
    }
    const body: WorkMessage = parsed.data;
    if (body.kind === "refresh") {
      const copy = refreshes.get(body.accountId);
      if (copy) copy.message.ack();
      refreshes.set(body.accountId, { message, requestedAt: body.requestedAt });
    } else {
      sent.get(body.deliveryId)?.ack();
      sent.set(body.deliveryId, message);
    }
  }

  const leaseId = newLeaseId();
  const waiting = [...refreshes.keys()];
  const caused: string[] = [];
  const source: RefreshSource = {
    async claim(limit) {
      if (waiting.length === 0) return undefined;
      const ids = waiting.splice(0, limit);
      // Leased at the time of taking, so a late claim in a long batch still holds its full term.
      const taken = await takeQueuedAccounts(db, ids, leaseId, clock());
      for (const id of ids) {
        if (taken.some((row) => row.id === id)) continue;
        refreshes.get(id)?.message.ack();
        refreshes.delete(id);
        run.skipped += 1;
      }
      return taken;
    },
    requestedAt: (row) => refreshes.get(row.id)?.requestedAt ?? now,
    settled(row, result) {
      const entry = refreshes.get(row.id);
      refreshes.delete(row.id);
      if (!entry) return;
      if ("error" in result) return retry(entry.message);
      entry.message.ack();
      if (result.outcome.kind === "refreshed") run.refreshed += 1;
      caused.push(...(result.outcome.deliveryIds ?? []));
    },
  };
  if (waiting.length) {
    // Keep room for the deliveries this batch carries.
    const keep = Math.min(sent.size * WORST_ATTEMPT_SUBREQUESTS, Math.floor(budget.limit / 4));
    await refreshInLanes(env, budget, leaseId, now, source, {
      claimBatch: CONSUMER_CLAIM,
      keep,
      deadline,
      clock,
      providerTimeoutMs: options.providerTimeoutMs,
    });
  }
  // Not reached in time (their leases were handed back): the queue brings them again.
  for (const { message } of refreshes.values()) retry(message);

  await deliver(env, db, budget, clock, deadline, [...sent.keys()], caused, sent, run, retry);
  run.subrequests = budget.spent;
  return run;
}

/**
 * Attempts the deliveries the batch was sent, then those its refreshes caused, while the budget
 * holds one attempt at its worst. Sent ones not attempted are retried; caused ones stay pending
 * for the scheduler, which enqueues them within a minute.
 */
async function deliver(
  env: Env,
  db: Db,
  budget: SubrequestBudget,
  clock: () => number,
  deadline: number,
  sentIds: string[],
  causedIds: string[],
  sent: Map<string, Message<unknown>>,
  run: ConsumeRun,
  retry: (message: Message<unknown>) => void,
) {
  const ids = [...sentIds, ...causedIds];
  const leaseId = newLeaseId();
  const now = clock();
  let next = 0;
  while (next < ids.length && clock() < deadline) {
    // The claim is one statement; each claimed delivery may cost its worst.
    const affordable = Math.floor((budget.left() - 1) / WORST_ATTEMPT_SUBREQUESTS);
    if (affordable < 1) break;
    const chunk = ids.slice(next, next + Math.min(DELIVERY_CLAIM, affordable));
    next += chunk.length;
    const claimed = await claimDeliveries(db, leaseId, now, { ids: chunk });
    await pool(claimed, MAX_CONCURRENCY, async (delivery) => {
      budget.spend(); // its POST
      try {
        await attemptDelivery({ env, db, now: clock() }, delivery);
        run.attempted += 1;
        sent.get(delivery.id)?.ack();
      } catch (err) {
        log("queue_delivery_failed", {
          deliveryId: delivery.id,
          message: err instanceof Error ? err.message.slice(0, 200) : "unknown",
        });
        const message = sent.get(delivery.id);
        if (message) retry(message);
      }
      sent.delete(delivery.id);
    });
    // Claimed by no one here: delivered meanwhile, or someone else holds it.
    for (const id of chunk) {
      if (claimed.some((row) => row.id === id)) continue;
      sent.get(id)?.ack();
      sent.delete(id);
    }
  }
  for (const message of sent.values()) retry(message);
}

/**
 * The dead-letter queue's consumer: each message that failed every delivery is logged and
 * recorded (ids only) where the admin API reads it, once per message id.
 */
export async function recordDeadLetters(batch: MessageBatch<unknown>, env: Env, now: number) {
  if (batch.messages.length === 0) return;
  const db = createDb(env.DB);
  const rows = batch.messages.map((message): typeof deadLetters.$inferInsert => {
    const parsed = WorkMessageSchema.safeParse(message.body);
    const body = parsed.success ? parsed.data : undefined;
    const kind = body?.kind ?? "malformed";
    log("queue_dead_letter", { messageId: message.id, kind, attempts: message.attempts });
    return {
      id: message.id,
      kind,
      targetId: body ? (body.kind === "refresh" ? body.accountId : body.deliveryId) : null,
      attempts: message.attempts,
      // A malformed body is not echoed: it could hold anything.
      body: body ? JSON.stringify(body) : "{}",
      deadAt: now,
    };
  });
  // D1 binds at most 100 parameters per statement: six per row.
  for (let i = 0; i < rows.length; i += 16) {
    await db
      .insert(deadLetters)
      .values(rows.slice(i, i + 16))
      .onConflictDoNothing();
  }
  batch.ackAll();
}
