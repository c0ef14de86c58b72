// The app as deployed, with env.DB wrapped so every D1 round trip is counted: each statement
// executed on its own (all, first, run, raw), each batch and each exec counts one. The count goes
// back in the x-bench-d1-round-trips header. POST /__bench/refresh-tokens[?cap=N] runs the cron's
// refresh job once (budgeting against a D1 query cap of N per invocation, if given) and answers
// what it did, how long it took, and its time in D1 and in outbound fetches.
// POST /__bench/scheduled runs every cron job once and answers the D1 rows it read and wrote.
// POST /__bench/consume?n=N runs the queue consumer once over a batch of N refresh messages for due
// accounts; POST /__bench/enqueue runs the queue scheduler once against a queue that only counts
// (the claim side of the fan-out, under the deployed query cap). The Worker "fanout" in the bench
// runs this same entry with a real local queue: its queue() is the app's.
// Two controls for the cron figures: /__bench/fetch-loop (the same outbound requests through the
// same pool, nothing else) and /__bench/d1-writes (one-row write transactions back to back).
import { AsyncLocalStorage } from "node:async_hooks";
import worker from "../../src/index";
import { runScheduled } from "../../src/jobs";
import { consumeWork } from "../../src/jobs/consume";
import { enqueueRefreshes } from "../../src/jobs/enqueue";
import { refreshTokens } from "../../src/jobs/refresh-tokens";
import { MAX_CONCURRENCY, pool } from "../../src/lib/pool";

const calls = new AsyncLocalStorage();
const EXECUTE = new Set(["all", "first", "run", "raw"]);
const originals = new WeakMap();

/** Counts one round trip and, once it settles, adds how long it took (I/O wait included). */
function record(kind, promise) {
  const store = calls.getStore();
  if (!store) return promise;
  store.kinds.push(kind);
  const started = Date.now();
  return promise.finally(() => {
    store.d1Ms += Date.now() - started;
  });
}

function wrapStatement(statement) {
  const proxy = new Proxy(statement, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === "bind") return (...args) => wrapStatement(value.apply(target, args));
      if (EXECUTE.has(prop)) {
        return (...args) => record(prop, value.apply(target, args));
      }
      return value;
    },
  });
  originals.set(proxy, statement);
  return proxy;
}

function wrapDatabase(db) {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      switch (prop) {
        case "prepare":
          return (query) => wrapStatement(value.call(target, query));
        case "batch":
          return (statements) =>
            record(
              "batch",
              value.call(
                target,
                statements.map((s) => originals.get(s) ?? s),
              ),
            );
        case "exec":
          return (query) => record("exec", value.call(target, query));
        case "withSession":
          return (...args) => wrapDatabase(value.apply(target, args));
        default:
          return value;
      }
    },
  });
}

const wrappedEnvs = new WeakMap();

/** One wrapped env per real env, so per-isolate caches keyed on env keep working. */
function wrapEnv(env) {
  let wrapped = wrappedEnvs.get(env);
  if (!wrapped) {
    wrapped = Object.create(env, { DB: { value: wrapDatabase(env.DB), enumerable: true } });
    wrappedEnvs.set(env, wrapped);
  }
  return wrapped;
}

async function counted(fn) {
  const store = { kinds: [], d1Ms: 0, primaryMs: 0, rowsRead: 0, rowsWritten: 0, fetches: 0, fetchMs: 0 };
  const result = await calls.run(store, fn);
  return { result, ...store };
}

/**
 * Rows read and written (what D1 bills) come back in each result's meta, which raw() — drizzle's
 * way to read — drops. They are picked up where every query passes: the session's internal send
 * methods. Internal API: if it changes, the counts read null and nothing else breaks.
 */
let metaPatched = null;
function patchMeta(db) {
  if (metaPatched !== null) return metaPatched;
  metaPatched = false;
  try {
    let proto = Object.getPrototypeOf(db.prepare("SELECT 1").dbSession);
    while (proto && !Object.hasOwn(proto, "_send")) proto = Object.getPrototypeOf(proto);
    for (const name of ["_send", "_queryOrThrow"]) {
      const original = proto?.[name];
      if (typeof original !== "function") continue;
      proto[name] = async function (...args) {
        const result = await original.apply(this, args);
        const store = calls.getStore();
        if (store) {
          for (const r of Array.isArray(result) ? result : [result]) {
            store.rowsRead += r?.meta?.rows_read ?? 0;
            store.rowsWritten += r?.meta?.rows_written ?? 0;
            // What the database itself spent on the query (D1's meta.duration), without the trip to it.
            store.primaryMs += r?.meta?.duration ?? 0;
          }
        }
        return result;
      };
      metaPatched = true;
    }
  } catch {
    metaPatched = false;
  }
  return metaPatched;
}

// Outbound fetches (the token endpoint) are timed too, to split a refresh into waiting and working.
const originalFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
  const store = calls.getStore();
  if (!store) return originalFetch(...args);
  store.fetches += 1;
  const started = Date.now();
  try {
    return await originalFetch(...args);
  } finally {
    store.fetchMs += Date.now() - started;
  }
};

export default {
  async queue(batch, env, ctx) {
    await worker.queue(batch, env, ctx);
  },
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const metered = patchMeta(env.DB);
    if (request.method === "POST" && url.pathname === "/__bench/scheduled") {
      // Every cron job once, as the Cron Trigger runs them.
      const started = Date.now();
      const { result, kinds, rowsRead, rowsWritten } = await counted(() =>
        runScheduled(wrapEnv(env), Date.now()),
      );
      return Response.json({
        report: result,
        elapsedMs: Date.now() - started,
        d1RoundTrips: kinds.length,
        rowsRead: metered ? rowsRead : null,
        rowsWritten: metered ? rowsWritten : null,
      });
    }
    if (request.method === "POST" && url.pathname === "/__bench/fetch-loop") {
      // Control: the same outbound requests with nothing else around them (no D1, no crypto).
      const target = url.searchParams.get("url");
      const n = Number(url.searchParams.get("n") ?? 60);
      const started = Date.now();
      await pool(Array.from({ length: n }), MAX_CONCURRENCY, async () => {
        const res = await originalFetch(target, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "grant_type=refresh_token&refresh_token=control",
        });
        await res.json();
      });
      return Response.json({ requests: n, elapsedMs: Date.now() - started });
    }
    if (request.method === "POST" && url.pathname === "/__bench/d1-writes") {
      // Control: one-row write transactions one after another, as each refresh commits one.
      const n = Number(url.searchParams.get("n") ?? 50);
      const { results } = await env.DB.prepare(
        "SELECT id FROM accounts WHERE platform = 'twitter' LIMIT 1",
      ).all();
      const started = Date.now();
      for (let i = 0; i < n; i++) {
        await env.DB.batch([
          env.DB.prepare("UPDATE accounts SET updated_at = ?1 WHERE id = ?2 RETURNING id").bind(
            Date.now(),
            results[0].id,
          ),
        ]);
      }
      return Response.json({ writes: n, elapsedMs: Date.now() - started });
    }
    if (request.method === "POST" && url.pathname === "/__bench/consume") {
      const n = Number(url.searchParams.get("n") ?? 100);
      const now = Date.now();
      const { results } = await env.DB.prepare(
        "SELECT id FROM accounts WHERE next_refresh_at <= ?1 AND status <> 'disconnected' AND refresh_lease_id IS NULL ORDER BY next_refresh_at LIMIT ?2",
      )
        .bind(now, n)
        .all();
      const settled = { acked: 0, retried: 0 };
      const batch = {
        queue: "switchboard-maintenance",
        messages: results.map((row, i) => ({
          id: `bench-${now}-${i}`,
          timestamp: new Date(now),
          attempts: 1,
          body: { kind: "refresh", accountId: row.id, requestedAt: now },
          ack: () => {
            settled.acked += 1;
          },
          retry: () => {
            settled.retried += 1;
          },
        })),
        ackAll() {},
        retryAll() {},
      };
      const started = Date.now();
      const { result, kinds, d1Ms, primaryMs, fetches, fetchMs, rowsWritten } = await counted(() =>
        consumeWork(batch, wrapEnv(env)),
      );
      return Response.json({
        run: result,
        messages: results.length,
        settled,
        elapsedMs: Date.now() - started,
        d1RoundTrips: kinds.length,
        d1Ms,
        d1PrimaryMs: metered ? primaryMs : null,
        rowsWritten: metered ? rowsWritten : null,
        fetches,
        fetchMs,
      });
    }
    if (request.method === "POST" && url.pathname === "/__bench/enqueue") {
      const sent = { calls: 0, messages: 0 };
      const queue = {
        async send() {
          sent.calls += 1;
          sent.messages += 1;
        },
        async sendBatch(messages) {
          sent.calls += 1;
          sent.messages += [...messages].length;
        },
      };
      const started = Date.now();
      const { result, kinds, d1Ms } = await counted(() => enqueueRefreshes(wrapEnv(env), queue, Date.now()));
      return Response.json({
        run: result,
        sent,
        elapsedMs: Date.now() - started,
        d1RoundTrips: kinds.length,
        d1Ms,
      });
    }
    if (request.method === "POST" && url.pathname === "/__bench/refresh-tokens") {
      const started = Date.now();
      // ?cap=N: the D1 query cap per invocation the run budgets against (default: wrangler.toml's).
      const cap = url.searchParams.get("cap");
      const target = cap
        ? Object.create(wrapEnv(env), { D1_QUERIES_PER_INVOCATION: { value: cap } })
        : wrapEnv(env);
      const { result, kinds, d1Ms, fetches, fetchMs, rowsRead, rowsWritten } = await counted(() =>
        refreshTokens(target, Date.now()),
      );
      return Response.json({
        run: result,
        elapsedMs: Date.now() - started,
        d1RoundTrips: kinds.length,
        d1Ms,
        rowsRead: metered ? rowsRead : null,
        rowsWritten: metered ? rowsWritten : null,
        fetches,
        fetchMs,
      });
    }
    const { result, kinds, rowsRead } = await counted(() => worker.fetch(request, wrapEnv(env), ctx));
    const response = new Response(result.body, result);
    response.headers.set("x-bench-d1-round-trips", String(kinds.length));
    response.headers.set("x-bench-d1-calls", kinds.join(","));
    if (metered) response.headers.set("x-bench-d1-rows-read", String(rowsRead));
    return response;
  },
};
