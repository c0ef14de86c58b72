import { createDb } from "../db/client";
import { DUE_BATCH, deliverDue } from "../features/webhooks/delivery.service";
import { SECOND } from "../lib/time";
import { metered } from "./budget";

/** One attempt at worst: the POST and the statements that record it (and may disable its endpoint). */
const WORST_ATTEMPT_SUBREQUESTS = 3;

/** Wall-clock budget of one delivery pass. */
export const DELIVERY_BUDGET_MS = 20 * SECOND;

/** Retries due webhook deliveries (and first attempts whose waitUntil never ran), batch after batch within the budget. */
export async function deliverWebhooks(
  rawEnv: Env,
  now: number,
  options: { budgetMs?: number; clock?: () => number } = {},
) {
  const { env, budget } = metered(rawEnv);
  const db = createDb(env.DB);
  const clock = options.clock ?? Date.now;
  const deadline = clock() + (options.budgetMs ?? DELIVERY_BUDGET_MS);
  let attempted = 0;
  let delivered = 0;
  while (clock() < deadline) {
    // Claim only what the invocation's subrequests can attempt (the claim itself is one).
    const affordable = Math.floor((budget.left() - 1) / WORST_ATTEMPT_SUBREQUESTS);
    if (affordable < 1) break;
    const results = await deliverDue({ env, db, now }, Math.min(DUE_BATCH, affordable));
    budget.spend(results.length); // their POSTs
    if (results.length === 0) break;
    attempted += results.length;
    delivered += results.filter((r) => r.ok).length;
  }
  return { attempted, delivered };
}
