/** One plain function per job, each taking (env, now); the Cron Trigger only dispatches here. */
export type Job = (env: Env, now: number) => Promise<unknown>;

/** Token maintenance, webhook retries and housekeeping register here as they land. */
export const JOBS: Record<string, Job> = {};

export async function runScheduled(env: Env, now: number, _cron: string): Promise<void> {
  const results = await Promise.allSettled(Object.values(JOBS).map((job) => job(env, now)));
  for (const [i, result] of results.entries()) {
    if (result.status === "rejected") {
      const reason = result.reason instanceof Error ? result.reason.message : String(result.reason);
      console.error(JSON.stringify({ level: "error", job: Object.keys(JOBS)[i], message: reason }));
    }
  }
}
