import { z } from "zod";

/**
 * What travels through the maintenance queue: ids only (never a token), and work that is safe to
 * deliver twice. D1 stays the source of truth: a consumer re-reads and re-leases the row first.
 */
export const WorkMessageSchema = z.discriminatedUnion("kind", [
  /** Refresh an account claimed for the queue; requestedAt is when the scheduler decided to. */
  z.object({ kind: z.literal("refresh"), accountId: z.string().min(1), requestedAt: z.number().int() }),
  /** Attempt a webhook delivery (the outbox row holds everything else). */
  z.object({ kind: z.literal("deliver"), deliveryId: z.string().min(1) }),
]);
export type WorkMessage = z.infer<typeof WorkMessageSchema>;

/** Queues' limit on messages per sendBatch call. */
export const SEND_BATCH = 100;

/** The dead-letter queue's name is the queue's with this suffix (wrangler.toml). */
export const DEAD_LETTER_SUFFIX = "-dlq";

/** The queue this deployment fans out through, when it has one (the binding is the configuration). */
export const workQueue = (env: Env): Queue<WorkMessage> | undefined =>
  (env as { MAINTENANCE_QUEUE?: Queue<WorkMessage> }).MAINTENANCE_QUEUE;
