import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "./client";

export type Statement = BatchItem<"sqlite">;
/** Runs statements as one atomic D1 batch and answers each statement's result. */
export type BatchRunner = (statements: Statement[]) => Promise<unknown[]>;

interface Pending {
  statements: Statement[];
  resolve: (results: unknown[]) => void;
  reject: (err: unknown) => void;
}

/**
 * A BatchRunner that sends the batches of concurrent callers to D1 together: one round trip
 * carries every caller waiting when it leaves, so six lanes finishing at once cost one or two
 * trips, not six queued behind each other. Each caller's statements keep their order and stay
 * atomic. If a combined batch fails, each caller's batch is retried on its own, so one caller's
 * failing statement never undoes another's write.
 */
export function coalescingBatch(db: Db): BatchRunner {
  let queue: Pending[] = [];
  let draining = false;

  const run = (statements: Statement[]) =>
    db.batch(statements as [Statement, ...Statement[]]) as Promise<unknown[]>;

  async function drain() {
    draining = true;
    while (queue.length > 0) {
      const callers = queue;
      queue = [];
      try {
        const results = await run(callers.flatMap((caller) => caller.statements));
        let at = 0;
        for (const caller of callers) {
          caller.resolve(results.slice(at, at + caller.statements.length));
          at += caller.statements.length;
        }
      } catch (err) {
        if (callers.length === 1) (callers[0] as Pending).reject(err);
        else for (const caller of callers) await run(caller.statements).then(caller.resolve, caller.reject);
      }
    }
    draining = false;
  }

  return (statements) => {
    if (statements.length === 0) return Promise.resolve([]);
    return new Promise<unknown[]>((resolve, reject) => {
      queue.push({ statements, resolve, reject });
      if (!draining) void drain();
    });
  };
}
