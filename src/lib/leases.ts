import { randomToken } from "./crypto";
import { MINUTE } from "./time";

/**
 * A queued lease marks a row claimed for a queue message: nothing runs under it, so whoever comes
 * to do the work (the message's consumer, an API call) may take it over at once. Every other lease
 * means work in flight, fenced until it lapses.
 */
const QUEUED = "q:";

export const newLeaseId = () => randomToken(12);
export const newQueuedLeaseId = () => `${QUEUED}${randomToken(12)}`;
/** SQL LIKE pattern of queued leases (the prefix has no LIKE wildcard in it). */
export const QUEUED_LEASE_PATTERN = `${QUEUED}%`;

/** How long a row stays claimed for its queue message (queue latency and a consumer's retry delay, with room to spare); past it the scheduler claims and enqueues it again. */
export const QUEUE_LEASE_MS = 10 * MINUTE;
