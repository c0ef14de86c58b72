import { createDb } from "../db/client";
import { deliverDue } from "../features/webhooks/delivery.service";
import { SECOND } from "../lib/time";

/** Wall-clock budget of one delivery pass. */
export const DELIVERY_BUDGET_MS = 20 * SECOND;

/** Retries due webhook deliveries (and first attempts whose waitUntil never ran), batch after batch within the budget. */
export async function deliverWebhooks(
  env: Env,
  now: number,
  options: { budgetMs?: number; clock?: () => number } = {},
) {
  const db = createDb(env.DB);
  const clock = options.clock ?? Date.now;
  const deadline = clock() + (options.budgetMs ?? DELIVERY_BUDGET_MS);
  let attempted = 0;
  let delivered = 0;
  while (clock() < deadline) {
    const results = await deliverDue(env, db, now);
    if (results.length === 0) break;
    attempted += results.length;
    delivered += results.filter((r) => r.ok).length;
  }
  return { attempted, delivered };
}
