// Builds the Workers with wrangler and runs them in one Miniflare (the runtime under `wrangler dev`),
// each on its own direct socket: no wrangler dev proxy, no request logging, no local tracing.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { COMPATIBILITY_DATE, DB_1K_ID, DB_100K_ID, onCleanup, PERSIST, STATE, wrangler } from "./common.mjs";

const BUILD = path.join(STATE, "build");

/** `wrangler deploy --dry-run --outdir`: the bundle as it would be uploaded, and its sizes. */
export async function build(name, configArgs = [], extra = []) {
  const outdir = path.join(BUILD, name);
  const output = await wrangler(["deploy", "--dry-run", "--outdir", outdir, ...configArgs, ...extra]);
  const script = path.join(outdir, "index.js");
  const bytes = readFileSync(script);
  const reported = output.match(/Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/);
  return {
    script,
    files: readdirSync(outdir).filter((f) => !f.endsWith(".map") && f !== "README.md"),
    bytes: bytes.length,
    gzipBytes: gzipSync(bytes).length,
    wranglerReportedKiB: reported ? { upload: Number(reported[1]), gzip: Number(reported[2]) } : null,
  };
}

const direct = [{ host: "127.0.0.1", port: 0 }];

export async function startWorkers({ app, baseline, instrumented, vars, inspectorPort }) {
  const appBindings = { ...vars };
  const worker = (name, script, d1Id, bindings = {}, kv = true, extra = {}) => ({
    name,
    modules: true,
    scriptPath: script,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings,
    d1Databases: { DB: d1Id },
    ...(kv ? { kvNamespaces: { OAUTH_STATE: "00000000000000000000000000000000" } } : {}),
    unsafeDirectSockets: direct,
    ...(inspectorPort ? { unsafeInspectorProxy: true } : {}),
    ...extra,
  });
  // The app with its maintenance queue, as wrangler.toml binds it (Miniflare's local Queues).
  const fanout = {
    queueProducers: { MAINTENANCE_QUEUE: { queueName: "switchboard-maintenance" } },
    queueConsumers: {
      "switchboard-maintenance": {
        maxBatchSize: 100,
        maxBatchTimeout: 1,
        maxRetries: 5,
        retryDelay: 75,
        deadLetterQueue: "switchboard-maintenance-dlq",
      },
      "switchboard-maintenance-dlq": { maxBatchSize: 100, maxBatchTimeout: 1 },
    },
  };
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      logRequests: false,
      ...(inspectorPort ? { inspectorPort } : {}),
      resourcePersistencePath: path.join(PERSIST, "v3"),
      workers: [
        worker("app", app, DB_100K_ID, appBindings),
        worker("app-1k", app, DB_1K_ID, appBindings),
        worker("baseline", baseline, DB_100K_ID, {}, false),
        worker("baseline-1k", baseline, DB_1K_ID, {}, false),
        worker("instrumented", instrumented, DB_100K_ID, appBindings),
        worker("fanout", instrumented, DB_100K_ID, appBindings, true, fanout),
      ],
    }),
  );
  // Registered before it is ready: a failed start still ends workerd.
  onCleanup(() => mf.dispose());
  await mf.ready;
  const urls = {};
  for (const name of ["app", "app-1k", "baseline", "baseline-1k", "instrumented", "fanout"]) {
    urls[name] = (await mf.unsafeGetDirectURL(name)).origin;
  }
  return { mf, urls, pid: findWorkerdPid() };
}

/** The workerd process Miniflare started (a child of this process): its CPU is the Workers' CPU. */
function findWorkerdPid() {
  const mine = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm.startsWith("workerd") && ppid === process.pid) mine.push(Number(entry));
    } catch {}
  }
  if (mine.length !== 1) throw new Error(`Expected one workerd child process, found ${mine.length}`);
  return mine[0];
}
