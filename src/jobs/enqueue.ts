import { createDb } from "../db/client";
import { claimDueForQueue, releaseLease } from "../features/accounts/refresh.service";
import {
  claimDueForQueue as claimDeliveriesForQueue,
  releaseLease as releaseDeliveryLease,
} from "../features/webhooks/delivery.service";
import { newQueuedLeaseId } from "../lib/leases";
import { SECOND } from "../lib/time";
import { metered, type SubrequestBudget } from "./budget";
import { SEND_BATCH, type WorkMessage } from "./messages";
import { LATER_JOBS_SHARE } from "./refresh-tokens";

/** Rows one claim statement takes for the queue: five sendBatch calls' worth. */
export const ENQUEUE_CLAIM = 5 * SEND_BATCH;
/** Wall-clock budget of one enqueue pass: claims and sends take milliseconds each. */
export const ENQUEUE_BUDGET_MS = 20 * SECOND;

export interface EnqueueRun {
  enqueued: number;
  /** Claimed but not sent (a send failed): handed back at once for the next run. */
  released: number;
  subrequests: number;
}

interface EnqueueOptions {
  budgetMs?: number;
  clock?: () => number;
}

/**
 * Claims due rows under a queued lease and sends one message per row, claim after claim, within
 * the deadline and the invocation's subrequest budget (a claim costs one, each sendBatch one, a
 * hand-back one). Each claim has its own lease: when a send fails the whole claim is handed back at
 * once by it (one statement), so nothing waits out the lease; the messages that did go out find
 * their rows free and still due, which is all a consumer needs.
 */
async function enqueueDue(
  budget: SubrequestBudget,
  queue: Queue<WorkMessage>,
  keep: number,
  options: EnqueueOptions,
  claim: (leaseId: string, limit: number) => Promise<string[]>,
  release: (leaseId: string) => Promise<unknown>,
  message: (id: string) => WorkMessage,
): Promise<EnqueueRun> {
  const clock = options.clock ?? Date.now;
  const deadline = clock() + (options.budgetMs ?? ENQUEUE_BUDGET_MS);
  const run: EnqueueRun = { enqueued: 0, released: 0, subrequests: 0 };
  while (clock() < deadline) {
    // One statement for the claim and one for a hand-back, the rest for sends.
    const sends = budget.left() - keep - 2;
    if (sends < 1) break;
    const limit = Math.min(ENQUEUE_CLAIM, sends * SEND_BATCH);
    const leaseId = newQueuedLeaseId();
    const ids = await claim(leaseId, limit);
    if (ids.length === 0) break;
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += SEND_BATCH) chunks.push(ids.slice(i, i + SEND_BATCH));
    budget.spend(chunks.length);
    const sent = await Promise.allSettled(
      chunks.map((chunk) =>
        queue.sendBatch(chunk.map((id) => ({ body: message(id), contentType: "json" as const }))),
      ),
    );
    const unsent = chunks.flatMap((chunk, i) => (sent[i]?.status === "rejected" ? chunk : []));
    run.enqueued += ids.length - unsent.length;
    if (unsent.length) {
      const reason = sent.find((s) => s.status === "rejected")?.reason;
      console.error(
        JSON.stringify({
          level: "error",
          event: "enqueue_failed",
          kind: message(unsent[0] as string).kind,
          count: unsent.length,
          message: reason instanceof Error ? reason.message.slice(0, 200) : "unknown",
        }),
      );
      await release(leaseId);
      run.released += unsent.length;
      break;
    }
    if (ids.length < limit) break;
  }
  run.subrequests = budget.spent;
  return run;
}

/** What the cron enqueues: due accounts to refresh, or due webhook deliveries to attempt. */
const KINDS = {
  refresh: {
    keepShare: LATER_JOBS_SHARE,
    claim: claimDueForQueue,
    release: releaseLease,
    message: (accountId: string, now: number): WorkMessage => ({
      kind: "refresh",
      accountId,
      requestedAt: now,
    }),
  },
  deliver: {
    keepShare: 0,
    claim: claimDeliveriesForQueue,
    release: releaseDeliveryLease,
    message: (deliveryId: string): WorkMessage => ({ kind: "deliver", deliveryId }),
  },
};

async function enqueueKind(
  kind: keyof typeof KINDS,
  rawEnv: Env,
  queue: Queue<WorkMessage>,
  now: number,
  options: EnqueueOptions,
): Promise<EnqueueRun> {
  const { env, budget } = metered(rawEnv);
  const db = createDb(env.DB);
  const { keepShare, claim, release, message } = KINDS[kind];
  return enqueueDue(
    budget,
    queue,
    Math.ceil(budget.limit * keepShare),
    options,
    async (leaseId, limit) => (await claim(db, leaseId, now, limit)).map((row) => row.id),
    (leaseId) => release(db, leaseId, now),
    (id) => message(id, now),
  );
}

/** Token maintenance with a queue: the cron claims due accounts and enqueues them for the consumers. */
export const enqueueRefreshes = (
  rawEnv: Env,
  queue: Queue<WorkMessage>,
  now: number,
  options: EnqueueOptions = {},
) => enqueueKind("refresh", rawEnv, queue, now, options);

/** Webhook retries with a queue: the cron claims due deliveries and enqueues them. */
export const enqueueDeliveries = (
  rawEnv: Env,
  queue: Queue<WorkMessage>,
  now: number,
  options: EnqueueOptions = {},
) => enqueueKind("deliver", rawEnv, queue, now, options);
