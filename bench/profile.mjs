// Where a request's JavaScript time goes: samples the V8 CPU profile of the app's isolate (and the
// baseline's) under load through workerd's inspector, maps every sample back through the bundle's
// source map and prints self time by package and by function. Uses the seeded state of
// `npm run bench` (run that once first).
//   node bench/profile.mjs [--seconds 8] [--path /v1/accounts] [--inspector-port 9239] [--config other/wrangler.toml]
// --config profiles the app as another wrangler config builds it (a candidate change in a copy).
//   node bench/profile.mjs --cron 360   profiles one refresh run of 360 due accounts instead, against
// the fake token endpoint answering in 100 ms (the cron benchmark's setup).
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { parseArgs } from "node:util";
import { log, stopAll } from "./lib/common.mjs";
import { resetCronAccounts } from "./lib/cron.mjs";
import { startFakeTokenEndpoint } from "./lib/fake-token-endpoint.mjs";
import { throughputRun } from "./lib/load.mjs";
import { build, startWorkers } from "./lib/workers.mjs";
import { readManifest, readVars } from "./seed.mjs";

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "8" },
    path: { type: "string", default: "/v1/accounts" },
    "inspector-port": { type: "string", default: "9239" },
    top: { type: "string", default: "25" },
    config: { type: "string" },
    cron: { type: "string" },
  },
});
export const port = Number(flags["inspector-port"]);

/** A minimal Chrome DevTools Protocol session over the inspector's WebSocket. */
export async function inspect(worker) {
  // The inspector proxy refuses a WebSocket upgrade without a local Origin.
  const ws = new WebSocket(`ws://127.0.0.1:${port}/${worker}`, { headers: { origin: "http://localhost" } });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`Cannot reach the inspector of ${worker}`));
  });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.id && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  };
  ws.onclose = () => {
    for (const reply of pending.values()) reply({ error: { message: `The inspector of ${worker} closed` } });
    pending.clear();
  };
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      id += 1;
      pending.set(id, (msg) => (msg.error ? reject(new Error(msg.error.message)) : resolve(msg.result)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => ws.close() };
}

/** Where a call frame comes from: a package, a file of this repository, or the runtime. */
function locate(callFrame, map) {
  const name = callFrame.functionName || "(anonymous)";
  if (["(program)", "(idle)", "(garbage collector)", "(root)"].includes(name)) return { where: name, name };
  if (!callFrame.url) return { where: "(native)", name };
  if (!callFrame.url.endsWith("index.js") || !map)
    return { where: "(workerd built-ins)", name: `${name} [${callFrame.url}]` };
  const source = map.findEntry(callFrame.lineNumber, callFrame.columnNumber)?.originalSource ?? "";
  const line = (map.findEntry(callFrame.lineNumber, callFrame.columnNumber)?.originalLine ?? 0) + 1;
  // drizzle-orm's own source maps point at ../src/…, which resolves to node_modules/src/….
  const pkg = source.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1];
  if (pkg) {
    const where = pkg === "src" ? "drizzle-orm" : pkg;
    const file = source.slice(source.lastIndexOf("/") + 1);
    return { where, name: `${name} (${where} ${file}:${line})`, own: false };
  }
  const file = source.match(/((?:src|bench)\/.*)$/)?.[1] ?? source;
  return { where: file, name: `${name} (${file}:${line})`, own: true };
}

export function aggregate(profile, map) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const located = new Map(profile.nodes.map((n) => [n.id, locate(n.callFrame, map)]));
  const total = profile.samples.length;
  const byPackage = new Map();
  const byFunction = new Map();
  const inclusive = new Map();
  const add = (m, k, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
  for (const sample of profile.samples) {
    const self = located.get(sample);
    add(byPackage, self.where.startsWith("src/") ? "src/ (this repository)" : self.where);
    add(byFunction, self.name);
    const seen = new Set();
    for (let id = sample; id !== undefined; id = parent.get(id)) {
      const frame = located.get(id);
      if (frame.own && !seen.has(frame.name)) {
        seen.add(frame.name);
        add(inclusive, frame.name);
      }
    }
    void byId;
  }
  const top = (m, k) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([key, n]) => `  ${((100 * n) / total).toFixed(1).padStart(5)}%  ${key}`);
  return {
    total,
    byPackage: top(byPackage, 12),
    byFunction: top(byFunction, Number(flags.top)),
    inclusive: top(inclusive, Number(flags.top)),
  };
}

async function profileUnderLoad(worker, target, bundle, seconds) {
  const session = await inspect(worker);
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: 100 });
  await throughputRun(target.url, { headers: target.headers, seconds: 2, connections: 10 });
  await session.send("Profiler.start");
  const run = await throughputRun(target.url, { headers: target.headers, seconds, connections: 10 });
  const { profile } = await session.send("Profiler.stop");
  session.close();
  let map = null;
  try {
    map = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, "utf8")));
  } catch {}
  return { run, ...aggregate(profile, map) };
}

function print(title, p) {
  console.log(
    [
      title,
      "Self time by package:",
      ...p.byPackage,
      "Self time by function:",
      ...p.byFunction,
      "Total time (self + callees) of this repository's functions:",
      ...p.inclusive,
      "",
    ].join("\n"),
  );
}

/** Builds the baseline and the instrumented entry and runs them, with `app` (or the instrumented entry), in one workerd. */
async function start(vars, app) {
  const baseline = await build("baseline", ["-c", "bench/baseline/wrangler.toml"]);
  const instrumented = await build("instrumented", ["-c", "bench/instrumented/wrangler.toml"]);
  const workers = await startWorkers({
    app: (app ?? instrumented).script,
    baseline: baseline.script,
    instrumented: instrumented.script,
    vars,
    inspectorPort: port,
  });
  return { workers, baseline, instrumented };
}

/** One refresh run of `due` accounts against a 100 ms token endpoint, sampled. */
async function profileCron(due) {
  const vars = readVars();
  const fake = await startFakeTokenEndpoint({ delayMs: 100 });
  vars.PROVIDER_OVERRIDES = JSON.stringify({ twitter: { tokenUrl: `${fake.url}/2/oauth2/token` } });
  const { workers, instrumented } = await start(vars);
  const db = await workers.mf.getD1Database("DB", "instrumented");
  const url = `${workers.urls.instrumented}/__bench/refresh-tokens?cap=1000000`;
  // A first run warms the isolate; the second is sampled.
  await resetCronAccounts(db, 60, Date.now());
  await fetch(url, { method: "POST" });
  await resetCronAccounts(db, due, Date.now());
  const session = await inspect("instrumented");
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: 100 });
  await session.send("Profiler.start");
  const job = await (await fetch(url, { method: "POST" })).json();
  const { profile } = await session.send("Profiler.stop");
  session.close();
  fake.close();
  const map = new SourceMap(JSON.parse(readFileSync(`${instrumented.script}.map`, "utf8")));
  const refreshed = job.run?.outcomes?.refreshed ?? 0;
  print(
    `refresh run: ${refreshed} accounts in ${job.elapsedMs} ms (${((refreshed * 1000) / job.elapsedMs).toFixed(1)}/s), ${profile.samples.length} samples of 100 µs`,
    aggregate(profile, map),
  );
}

async function main() {
  if (flags.cron) return profileCron(Number(flags.cron));
  const manifest = readManifest();
  if (!manifest) throw new Error("No seeded state: run `npm run bench` once first");
  const vars = readVars();
  const app = flags.config ? await build("app-candidate", ["-c", flags.config]) : await build("app");
  const { workers, baseline } = await start(vars, app);
  const res = await fetch(`${workers.urls.app}/v1/admin/workspaces/${manifest.benchWorkspaceId}/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${vars.ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench-profile", scopes: ["accounts:read"] }),
  });
  const { key } = await res.json();
  const seconds = Number(flags.seconds);
  const basePath = flags.path.replace(/^\/v1/, "");
  const sep = basePath.includes("?") ? "&" : "?";
  for (const [worker, target, bundle] of [
    [
      "app",
      { url: `${workers.urls.app}${flags.path}`, headers: { authorization: `Bearer ${key}` } },
      app.script,
    ],
    [
      "baseline",
      { url: `${workers.urls.baseline}${basePath}${sep}workspace=${manifest.benchWorkspaceId}` },
      baseline.script,
    ],
  ]) {
    log(
      `Profiling ${worker}: ${target.url.replace(/^http:\/\/[^/]+/, "")} for ${seconds} s at 10 connections`,
    );
    const p = await profileUnderLoad(worker, target, bundle, seconds);
    print(
      `${worker}: ${p.run.requests} requests (${p.run.reqPerSec.toFixed(0)}/s), ${p.total} samples of 100 µs in the isolate`,
      p,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main()
    .catch((err) => {
      console.error(`[bench] ${err.stack ?? err}`);
      process.exitCode = 1;
    })
    .finally(stopAll);
}
