import { advanceBackfills } from "./backfill";
import { metered } from "./budget";
import { deliverWebhooks } from "./deliver-webhooks";
import { enqueueDeliveries, enqueueRefreshes } from "./enqueue";
import { watchExpiry } from "./expiry";
import { housekeeping } from "./housekeeping";
import { type WorkMessage, workQueue } from "./messages";
import { refreshTokens } from "./refresh-tokens";
import { rewrapSecrets } from "./rewrap";

/** One plain function per job, each taking (env, now); the Cron Trigger only dispatches here. */
export type Job = (env: Env, now: number) => Promise<unknown>;

/**
 * Run in this order every minute, one after another so their outbound connections never add up
 * past the Workers limit: refresh first, so the events it writes go out in the same run.
 */
export const JOBS: Record<string, Job> = {
  refreshTokens,
  watchExpiry,
  advanceBackfills,
  deliverWebhooks,
  rewrapSecrets,
  housekeeping,
};

/**
 * The same jobs where the deployment has a maintenance queue: the cron only schedules token
 * refreshes and webhook retries, and the queue's consumers (src/jobs/consume.ts) do them.
 */
export const queuedJobs = (queue: Queue<WorkMessage>): Record<string, Job> => ({
  ...JOBS,
  refreshTokens: (env, now) => enqueueRefreshes(env, queue, now),
  deliverWebhooks: (env, now) => enqueueDeliveries(env, queue, now),
});

export async function runScheduled(rawEnv: Env, now: number): Promise<Record<string, unknown>> {
  // One subrequest budget for the whole invocation, spent by every job in turn.
  const { env, budget } = metered(rawEnv);
  const queue = workQueue(rawEnv);
  const report: Record<string, unknown> = { scheduler: queue ? "queue" : "cron" };
  for (const [name, job] of Object.entries(queue ? queuedJobs(queue) : JOBS)) {
    try {
      report[name] = await job(env, now);
    } catch (err) {
      report[name] = { failed: true };
      console.error(
        JSON.stringify({
          level: "error",
          job: name,
          message: err instanceof Error ? err.message : String(err),
        }),
      );
    }
  }
  report.subrequests = { spent: budget.spent, limit: budget.limit };
  return report;
}
