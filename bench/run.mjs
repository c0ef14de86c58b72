// `npm run bench`: Switchboard against a bare D1 Worker on the same data, D1 round trips per
// request, bundle size and cron refresh throughput. It measures and prints; it never fails on a
// number (only when it cannot measure). Writes bench/results.json. See docs/benchmarks.md.
//   npm run bench                 full run (about 3.5 minutes, plus about 1 minute when it seeds)
//   npm run bench -- --quick      fewer and shorter rounds (under 2 minutes)
//   npm run bench -- --reseed     seed the databases again even when the seeded state is current
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  BENCH,
  log,
  median,
  onCleanup,
  percentile,
  ROOT,
  round,
  STATE,
  sleep,
  stopAll,
  wranglerVersion,
} from "./lib/common.mjs";
import { resetCronAccounts } from "./lib/cron.mjs";
import { startFakeTokenEndpoint } from "./lib/fake-token-endpoint.mjs";
import { measureFanout } from "./lib/fanout.mjs";
import { cpuSeconds, fetchJson, pairedLatency, throughputRun } from "./lib/load.mjs";
import { build, startWorkers } from "./lib/workers.mjs";
import { DEFAULTS, isCurrent, readManifest, readVars, seed } from "./seed.mjs";

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    reseed: { type: "boolean", default: false },
    rounds: { type: "string" },
  },
});

const PLAN = flags.quick
  ? {
      rounds: 4,
      warmupSeconds: 1.5,
      latencySeconds: 1.5,
      throughputSeconds: 1.5,
      rowsSeconds: 1,
      cronAccounts: 360,
      fanoutRounds: 3,
      e2eAccounts: 5_000,
      budgetSeconds: 240,
    }
  : {
      rounds: 10,
      warmupSeconds: 3,
      latencySeconds: 2,
      throughputSeconds: 2,
      rowsSeconds: 2,
      cronAccounts: 1080,
      fanoutRounds: 5,
      e2eAccounts: 20_000,
      budgetSeconds: 540,
    };
if (flags.rounds) PLAN.rounds = Math.max(3, Number(flags.rounds));
const CONNECTIONS = 10;
const OUTBOUND_BOUND = 6;
const FAKE_DELAY_MS = 100;
const TARGETS = {
  listP50Ratio: 1.15,
  listReqPerSecRatio: 0.85,
  d1RoundTripsWarm: 1,
  bundleGzipBytes: 200_000,
  cronShareOfBound: 0.9,
};
/** A hard stop, whatever happens: every process this run started is ended. */
const WATCHDOG_MS = (PLAN.budgetSeconds + 360) * 1000;

const startedAt = Date.now();
const elapsed = () => (Date.now() - startedAt) / 1000;

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const mem = readFileSync("/proc/meminfo", "utf8").match(/MemTotal:\s+(\d+)/);
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "node_modules", "miniflare", "package.json"), "utf8"));
  return {
    nproc: os.availableParallelism(),
    cpuModel: cpuinfo.match(/model name\s*:\s*(.+)/)?.[1]?.trim() ?? "unknown",
    memoryGiB: mem ? round(Number(mem[1]) / 1024 / 1024, 1) : null,
    kernel: os.release(),
    node: process.version,
    wrangler: wranglerVersion,
    miniflare: pkg.version,
    workerd: pkg.dependencies?.workerd ?? null,
    loadAverageAtStart: os.loadavg().map((v) => round(v, 2)),
    source: source(),
  };
}

/** The commit measured, and whether the work tree differed from it (read-only git). */
function source() {
  try {
    const git = (...args) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
    return {
      commit: git("rev-parse", "--short", "HEAD"),
      uncommittedChanges: git("--no-optional-locks", "status", "--porcelain", "--", "src") !== "",
    };
  } catch {
    return null;
  }
}

/** KEY_CACHE_TTL_MS as the source states it: the bound on revocation delay. */
function keyCacheTtlMs() {
  const source = readFileSync(path.join(ROOT, "src/features/auth/auth.middleware.ts"), "utf8");
  const m = source.match(/KEY_CACHE_TTL_MS\s*=\s*([\d_]+)/);
  return m ? Number(m[1].replaceAll("_", "")) : null;
}

async function issueKey(url, adminToken, workspaceId) {
  const res = await fetch(`${url}/v1/admin/workspaces/${workspaceId}/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench", scopes: ["accounts:read"] }),
  });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`Issuing a bench key: HTTP ${res.status} ${JSON.stringify(body)}`);
  return { key: body.key, id: body.apiKey.id };
}

/** The app and the baseline must answer the same page before anything is timed. */
async function check(targets) {
  const ours = await fetchJson(targets.ourList.url, targets.ourList.headers);
  const base = await fetchJson(targets.baseList.url);
  if (ours.status !== 200 || base.status !== 200) {
    throw new Error(
      `List check failed: ours ${ours.status} ${JSON.stringify(ours.body)}, baseline ${base.status}`,
    );
  }
  const ids = (r) => r.body.data.map((a) => a.id).join(",");
  if (ours.body.data.length !== 20 || ids(ours) !== ids(base)) {
    throw new Error("The app and the baseline answer different pages: the comparison would be unfair");
  }
  for (const t of [targets.ourGet, targets.baseGet]) {
    const r = await fetchJson(t.url, t.headers);
    if (r.status !== 200) throw new Error(`GET ${t.url} answered ${r.status}`);
  }
  return { rowsPerPage: ours.body.data.length, responseBytes: JSON.stringify(ours.body).length };
}

async function countRoundTrips(url, headers) {
  const res = await fetchJson(url, headers);
  if (res.status !== 200) throw new Error(`Instrumented ${url} answered ${res.status}`);
  const rowsRead = res.headers.get("x-bench-d1-rows-read");
  return {
    roundTrips: Number(res.headers.get("x-bench-d1-round-trips")),
    calls: res.headers.get("x-bench-d1-calls")?.split(",").filter(Boolean) ?? [],
    rowsRead: rowsRead === null ? null : Number(rowsRead),
  };
}

/** Asks with a revoked key until the other isolate's cache lets go of it: the real revocation delay. */
async function revocationProbe(url, key, revokedAt, limitMs) {
  while (Date.now() - revokedAt < limitMs + 10_000) {
    const res = await fetchJson(url, { authorization: `Bearer ${key}` });
    if (res.status === 401) return Date.now() - revokedAt;
    await sleep(500);
  }
  return null;
}

function summarize(rounds, key) {
  return median(rounds.map((r) => r[key]));
}

async function main() {
  const info = machine();
  log(
    `${info.cpuModel}, ${info.nproc} cores, Node ${info.node}, wrangler ${info.wrangler}; mode ${flags.quick ? "quick" : "full"}`,
  );
  const watchdog = setTimeout(async () => {
    log(`Watchdog: still running after ${WATCHDOG_MS / 1000} s, stopping`);
    await stopAll();
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();

  // 1. Seeded state: reused while current (same seed, migrations and wrangler), else seeded anew.
  const wanted = {
    ...DEFAULTS,
    cronAccounts: Math.max(DEFAULTS.cronAccounts, PLAN.cronAccounts, PLAN.e2eAccounts),
  };
  let manifest = readManifest();
  if (flags.reseed || !isCurrent(manifest, wanted)) manifest = await seed(wanted);
  else
    log(`Reusing the seeded state from ${new Date(manifest.seededAt).toISOString()} (--reseed to redo it)`);
  const vars = readVars();

  // 2. Bundles, built by wrangler as `wrangler deploy` would upload them.
  log("Building with wrangler deploy --dry-run …");
  const minifyConfigured = /^\s*minify\s*=\s*true/m.test(
    readFileSync(path.join(ROOT, "wrangler.toml"), "utf8"),
  );
  const app = await build("app");
  const appMinified = await build("app-minified", [], ["--minify", "--metafile"]);
  const baseline = await build("baseline", ["-c", "bench/baseline/wrangler.toml"]);
  const instrumented = await build("instrumented", ["-c", "bench/instrumented/wrangler.toml"]);
  const topPackages = bundleComposition(path.join(STATE, "build", "app-minified"));

  // 3. The fake token endpoint, then every Worker in one workerd.
  const fake = await startFakeTokenEndpoint({ delayMs: FAKE_DELAY_MS });
  onCleanup(() => fake.close());
  vars.PROVIDER_OVERRIDES = JSON.stringify({ twitter: { tokenUrl: `${fake.url}/2/oauth2/token` } });
  const workers = await startWorkers({
    app: app.script,
    baseline: baseline.script,
    instrumented: instrumented.script,
    vars,
  });
  const { urls, pid } = workers;
  log(
    `Workers up in workerd pid ${pid}: ${Object.entries(urls)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  );

  const ws = manifest.benchWorkspaceId;
  const keyA = await issueKey(urls.app, vars.ADMIN_TOKEN, ws);
  const keyB = await issueKey(urls.app, vars.ADMIN_TOKEN, ws);
  const key1k = await issueKey(urls["app-1k"], vars.ADMIN_TOKEN, ws);
  const auth = (k) => ({ authorization: `Bearer ${k.key}` });
  const T = {
    ourList: { url: `${urls.app}/v1/accounts?limit=20`, headers: auth(keyA) },
    baseList: { url: `${urls.baseline}/accounts?workspace=${ws}&limit=20` },
    ourGet: { url: `${urls.app}/v1/accounts/${manifest.benchAccountId}`, headers: auth(keyA) },
    baseGet: { url: `${urls.baseline}/accounts/${manifest.benchAccountId}?workspace=${ws}` },
    ourList1k: { url: `${urls["app-1k"]}/v1/accounts?limit=20`, headers: auth(key1k) },
    baseList1k: { url: `${urls["baseline-1k"]}/accounts?workspace=${ws}&limit=20` },
  };
  const page = await check(T);

  // 4. D1 round trips, counted by the instrumented entry (a fresh isolate: its key cache starts cold).
  log("Counting D1 round trips …");
  const inst = (p, k) => [`${urls.instrumented}${p}`, auth(k)];
  const roundTrips = {
    list: {
      keyCacheMiss: await countRoundTrips(...inst("/v1/accounts?limit=20", keyA)),
      keyCacheHit: await countRoundTrips(...inst("/v1/accounts?limit=20", keyA)),
    },
    get: {
      keyCacheMiss: await countRoundTrips(...inst(`/v1/accounts/${manifest.benchAccountId}`, keyB)),
      keyCacheHit: await countRoundTrips(...inst(`/v1/accounts/${manifest.benchAccountId}`, keyB)),
    },
  };

  // 5. Warm-up, then interleaved rounds. Each round, per endpoint: 1-connection latency with
  // requests alternating ours/baseline, then ours and baseline at 10 connections one after the
  // other (the order flips every round).
  log(`Warm-up (${PLAN.warmupSeconds} s at ${CONNECTIONS} connections per target) …`);
  for (const t of [T.ourList, T.baseList, T.ourGet, T.baseGet, T.ourList1k, T.baseList1k]) {
    await throughputRun(t.url, {
      headers: t.headers,
      seconds: PLAN.warmupSeconds,
      connections: CONNECTIONS,
      pid,
    });
  }
  const roundSeconds = 2 * (PLAN.latencySeconds + 2 * PLAN.throughputSeconds) + 1;
  // The cron and fan-out sections after the rounds, in seconds.
  const reserve = 2 * 3 * PLAN.rowsSeconds + PLAN.cronAccounts / 45 + 15 + PLAN.e2eAccounts / 100 + 60;
  const rounds = { list: [], get: [] };
  for (let r = 1; r <= PLAN.rounds; r++) {
    if (r > 3 && elapsed() + roundSeconds + reserve > PLAN.budgetSeconds) {
      log(`Time budget: stopping after ${r - 1} rounds`);
      break;
    }
    for (const [name, ours, base] of [
      ["list", T.ourList, T.baseList],
      ["get", T.ourGet, T.baseGet],
    ]) {
      const [oL, bL] = await pairedLatency([ours, base], { seconds: PLAN.latencySeconds });
      const tput = (t) =>
        throughputRun(t.url, {
          headers: t.headers,
          seconds: PLAN.throughputSeconds,
          connections: CONNECTIONS,
          pid,
        });
      let oT;
      let bT;
      if (r % 2) {
        oT = await tput(ours);
        bT = await tput(base);
      } else {
        bT = await tput(base);
        oT = await tput(ours);
      }
      const row = {
        round: r,
        oursP50: oL.p50,
        baseP50: bL.p50,
        oursP99: oL.p99,
        baseP99: bL.p99,
        oursReqPerSec: oT.reqPerSec,
        baseReqPerSec: bT.reqPerSec,
        oursCpuMs: oT.cpuMsPerRequest,
        baseCpuMs: bT.cpuMsPerRequest,
        errors: oL.non200 + bL.non200 + oT.errors + bT.errors,
      };
      rounds[name].push(row);
      log(
        `round ${r} ${name.padEnd(4)}: p50 ${oL.p50.toFixed(2)} vs ${bL.p50.toFixed(2)} ms, ${oT.reqPerSec.toFixed(0)} vs ${bT.reqPerSec.toFixed(0)} req/s, CPU ${oT.cpuMsPerRequest?.toFixed(2)} vs ${bT.cpuMsPerRequest?.toFixed(2)} ms/req (ours vs baseline)`,
      );
    }
  }

  // 6. The same list at 1,000 rows and at 100,000 rows (the 1k database holds only this workspace).
  log("List latency at 1,000 vs 100,000 rows …");
  const rows = { ours1k: [], ours100k: [], base1k: [], base100k: [] };
  for (let r = 0; r < 3; r++) {
    const [o1, o100] = await pairedLatency([T.ourList1k, T.ourList], { seconds: PLAN.rowsSeconds });
    const [b1, b100] = await pairedLatency([T.baseList1k, T.baseList], { seconds: PLAN.rowsSeconds });
    rows.ours1k.push(o1.p50);
    rows.ours100k.push(o100.p50);
    rows.base1k.push(b1.p50);
    rows.base100k.push(b100.p50);
  }

  // 7. One refresh run against the fake token endpoint, with a revocation probe alongside.
  log(
    `Cron: refreshing ${PLAN.cronAccounts} due accounts against a token endpoint answering in ${FAKE_DELAY_MS} ms …`,
  );
  const db = await workers.mf.getD1Database("DB", "instrumented");
  const dueNow = await resetCronAccounts(db, PLAN.cronAccounts, Date.now());
  fake.reset();
  await fetchJson(`${urls.instrumented}/v1/accounts?limit=1`, auth(keyB)); // key B now cached there
  const revokedAt = Date.now();
  const revoke = await fetch(`${urls.app}/v1/admin/keys/${keyB.id}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${vars.ADMIN_TOKEN}` },
  });
  const probe =
    revoke.ok && revokedAt
      ? revocationProbe(
          `${urls.instrumented}/v1/accounts?limit=1`,
          keyB.key,
          revokedAt,
          keyCacheTtlMs() ?? 60_000,
        )
      : Promise.resolve(null);
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  // The connection bound is what this measures: the per-invocation query cap is lifted here and
  // measured on its own below.
  const res = await fetch(`${urls.instrumented}/__bench/refresh-tokens?cap=1000000`, { method: "POST" });
  const wall = performance.now() - t0;
  const cronCpu = cpuSeconds(pid) - cpu0;
  const job = await res.json();
  const fakeStats = { ...fake.stats, turnaroundsMs: [...fake.stats.turnaroundsMs] };
  const revocationDelayMs = await probe;

  // Controls: the same 6-lane pool sending the same requests with nothing else (the ceiling this
  // machine allows), and back-to-back one-row D1 write transactions (the local write floor).
  fake.reset();
  const controlN = Math.round(PLAN.cronAccounts / 2);
  const control = await (
    await fetch(
      `${urls.instrumented}/__bench/fetch-loop?n=${controlN}&url=${encodeURIComponent(`${fake.url}/2/oauth2/token`)}`,
      { method: "POST" },
    )
  ).json();
  const controlTurnarounds = [...fake.stats.turnaroundsMs];
  const writes = await (
    await fetch(`${urls.instrumented}/__bench/d1-writes?n=100`, { method: "POST" })
  ).json();
  const p50 = (values) =>
    percentile(
      [...values].sort((a, b) => a - b),
      50,
    );
  // D1 answers the database's size with every query: storage per account, for the 10 GB arithmetic.
  const sizeProbe = await db.prepare("SELECT count(*) AS n FROM accounts").all();
  const storage = { databaseBytes: sizeProbe.meta?.size_after ?? null, accounts: sizeProbe.results[0].n };
  storage.bytesPerAccount = storage.databaseBytes
    ? Math.round(storage.databaseBytes / storage.accounts)
    : null;

  // One invocation under the deployed cap (1,000 D1 queries, nine tenths spent, a quarter of that
  // kept for the later jobs): how many refreshes it starts before handing the rest back.
  await resetCronAccounts(db, PLAN.cronAccounts, Date.now());
  const capped = await (
    await fetch(`${urls.instrumented}/__bench/refresh-tokens`, { method: "POST" })
  ).json();
  const perInvocation = {
    queryCap: 1000,
    due: PLAN.cronAccounts,
    refreshed: capped.run?.outcomes?.refreshed ?? 0,
    handedBack: capped.run?.released ?? 0,
    subrequestsSpent: capped.run?.subrequests ?? null,
    d1RoundTrips: capped.d1RoundTrips,
    elapsedMs: capped.elapsedMs,
  };
  await resetCronAccounts(db, 0, Date.now()); // nothing due again, for the idle run below

  const refreshed = job.run?.outcomes?.refreshed ?? 0;
  const perSecond = refreshed / (job.elapsedMs / 1000);
  const bound = OUTBOUND_BOUND / (FAKE_DELAY_MS / 1000);
  const cron = {
    due: dueNow,
    claimed: job.run?.claimed,
    refreshed,
    outcomes: job.run?.outcomes,
    released: job.run?.released,
    elapsedMs: job.elapsedMs,
    wallMs: round(wall, 0),
    accountsPerSecond: round(perSecond, 1),
    boundPerSecond: bound,
    shareOfBound: round(perSecond / bound, 3),
    fakeTokenEndpoint: {
      delayMs: FAKE_DELAY_MS,
      requests: fakeStats.requests,
      maxConcurrentRequests: fakeStats.maxInFlight,
      maxOpenConnections: fakeStats.maxSockets,
      turnaroundP50Ms: round(p50(fakeStats.turnaroundsMs), 1),
    },
    controlFetchOnly: {
      requests: control.requests,
      perSecond: round(control.requests / (control.elapsedMs / 1000), 1),
      shareOfBound: round(control.requests / (control.elapsedMs / 1000) / bound, 3),
      turnaroundP50Ms: round(p50(controlTurnarounds), 1),
    },
    localD1WriteMs: round(writes.elapsedMs / writes.writes, 2),
    d1RoundTrips: job.d1RoundTrips,
    d1RoundTripsPerAccount: refreshed ? round(job.d1RoundTrips / refreshed, 2) : null,
    d1MsPerAccount: refreshed ? round(job.d1Ms / refreshed, 1) : null,
    d1RowsReadPerAccount: refreshed && job.rowsRead !== null ? round(job.rowsRead / refreshed, 2) : null,
    d1RowsWrittenPerAccount:
      refreshed && job.rowsWritten !== null ? round(job.rowsWritten / refreshed, 2) : null,
    workerCpuMsPerAccount: refreshed ? round((cronCpu * 1000) / refreshed, 2) : null,
    perInvocation,
  };

  // 8. D1 rows one idle Cron Trigger reads (every job, nothing due): what the free plan's daily
  // row-read budget has to cover 1,440 times a day. Then the same with a partial index on the
  // tokens nothing refreshes, a candidate change measured here rather than guessed.
  log("Cron: rows read by one idle scheduled run …");
  const tick = async () => {
    const r = await fetch(`${urls.instrumented}/__bench/scheduled`, { method: "POST" });
    if (!r.ok) throw new Error(`Scheduled run answered ${r.status}: ${await r.text()}`);
    return r.json();
  };
  let idle = await tick();
  for (let i = 0; i < 4 && busy(idle.report); i++) idle = await tick();
  const WHATIF_INDEX = "bench_whatif_unrefreshable_expiry";
  await db.exec(`DROP INDEX IF EXISTS ${WHATIF_INDEX}`);
  await db.exec(
    `CREATE INDEX ${WHATIF_INDEX} ON accounts (status, token_expires_at) WHERE next_refresh_at IS NULL`,
  );
  let withIndex;
  try {
    withIndex = await tick();
  } finally {
    await db.exec(`DROP INDEX IF EXISTS ${WHATIF_INDEX}`);
  }
  const idleTick = {
    rowsRead: idle.rowsRead,
    rowsWritten: idle.rowsWritten,
    d1RoundTrips: idle.d1RoundTrips,
    elapsedMs: idle.elapsedMs,
    rowsReadPerDay: idle.rowsRead === null ? null : idle.rowsRead * 1440,
    freePlanRowsReadPerDay: 5_000_000,
    jobs: Object.keys(idle.report ?? {}),
    withPartialIndex: {
      index: "accounts (status, token_expires_at) WHERE next_refresh_at IS NULL",
      rowsRead: withIndex.rowsRead,
      rowsReadPerDay: withIndex.rowsRead === null ? null : withIndex.rowsRead * 1440,
    },
  };

  // 9. The fan-out through the maintenance queue.
  const fanout = await measureFanout({
    urls,
    db,
    fake,
    e2eAccounts: PLAN.e2eAccounts,
    rounds: PLAN.fanoutRounds,
  });

  // 10. Results.
  const side = (rs, prefix) => ({
    p50Ms1Conn: round(summarize(rs, `${prefix}P50`), 3),
    p99Ms1Conn: round(summarize(rs, `${prefix}P99`), 3),
    reqPerSec10Conn: round(summarize(rs, `${prefix}ReqPerSec`), 0),
    cpuMsPerRequest10Conn: round(summarize(rs, `${prefix}CpuMs`), 3),
  });
  const endpoint = (rs) => {
    const ours = side(rs, "ours");
    const baseline = side(rs, "base");
    return {
      ours,
      baseline,
      ratios: {
        p50: round(ours.p50Ms1Conn / baseline.p50Ms1Conn, 3),
        reqPerSec: round(ours.reqPerSec10Conn / baseline.reqPerSec10Conn, 3),
        cpuPerRequest: round(ours.cpuMsPerRequest10Conn / baseline.cpuMsPerRequest10Conn, 3),
        pairedP50: round(median(rs.map((r) => r.oursP50 / r.baseP50)), 3),
        pairedReqPerSec: round(median(rs.map((r) => r.oursReqPerSec / r.baseReqPerSec)), 3),
      },
      rounds: rs.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v, 3)]))),
    };
  };
  const list = endpoint(rounds.list);
  const get = endpoint(rounds.get);
  const rowsScaling = {
    ours: { p50Ms1k: round(median(rows.ours1k), 3), p50Ms100k: round(median(rows.ours100k), 3) },
    baseline: { p50Ms1k: round(median(rows.base1k), 3), p50Ms100k: round(median(rows.base100k), 3) },
  };
  rowsScaling.ours.ratio = round(rowsScaling.ours.p50Ms100k / rowsScaling.ours.p50Ms1k, 3);
  rowsScaling.baseline.ratio = round(rowsScaling.baseline.p50Ms100k / rowsScaling.baseline.p50Ms1k, 3);
  const ttl = keyCacheTtlMs();
  const d1 = {
    list: { keyCacheHit: roundTrips.list.keyCacheHit, keyCacheMiss: roundTrips.list.keyCacheMiss },
    get: { keyCacheHit: roundTrips.get.keyCacheHit, keyCacheMiss: roundTrips.get.keyCacheMiss },
    baseline: { roundTrips: 1, how: "one statement per request, by construction (bench/baseline/index.js)" },
    keyCacheTtlMs: ttl,
    revocation: {
      boundMs: ttl,
      measuredDelayMs: revocationDelayMs,
      how: "key revoked through the app's isolate; another isolate (the instrumented entry) polled every 500 ms until 401",
    },
  };
  const bundle = {
    asConfigured: {
      bytes: app.bytes,
      gzipBytes: app.gzipBytes,
      wranglerReportedKiB: app.wranglerReportedKiB,
    },
    minified: {
      bytes: appMinified.bytes,
      gzipBytes: appMinified.gzipBytes,
      wranglerReportedKiB: appMinified.wranglerReportedKiB,
    },
    wranglerTomlMinify: minifyConfigured,
    baselineGzipBytes: baseline.gzipBytes,
    topPackagesMinifiedBytes: topPackages,
  };
  const deployedGzip = bundle.asConfigured.gzipBytes;
  const verdicts = [
    verdict("List p50 at 1 connection, ours/baseline", list.ratios.p50, "≤", TARGETS.listP50Ratio),
    verdict(
      "List req/s at 10 connections, ours/baseline",
      list.ratios.reqPerSec,
      "≥",
      TARGETS.listReqPerSecRatio,
    ),
    verdict("D1 round trips, authenticated list (key cached)", d1.list.keyCacheHit.roundTrips, "≤", 1),
    verdict("D1 round trips, authenticated get (key cached)", d1.get.keyCacheHit.roundTrips, "≤", 1),
    verdict("Bundle gzip bytes, as wrangler.toml deploys it", deployedGzip, "≤", TARGETS.bundleGzipBytes),
    verdict("Bundle gzip bytes, minified", bundle.minified.gzipBytes, "≤", TARGETS.bundleGzipBytes),
    verdict(
      "Cron accounts/s as a share of 6 connections / 100 ms",
      cron.shareOfBound,
      "≥",
      TARGETS.cronShareOfBound,
    ),
    verdict(
      "Cron max concurrent token requests",
      cron.fakeTokenEndpoint.maxConcurrentRequests,
      "≤",
      OUTBOUND_BOUND,
    ),
  ];
  const results = {
    generatedAt: new Date().toISOString(),
    mode: flags.quick ? "quick" : "full",
    durationSeconds: round(elapsed(), 0),
    machine: { ...info, loadAverageAtEnd: os.loadavg().map((v) => round(v, 2)) },
    method: {
      runtime:
        "Miniflare driven directly (workerd from wrangler's own miniflare), one direct socket per Worker: no wrangler dev proxy, no request logging, no local tracing",
      workerCpu:
        "utime+stime of the workerd process over each run (10 ms ticks), divided by the requests served; D1's SQLite runs in the same process",
      latency: `per round, ${PLAN.latencySeconds} s of sequential requests alternating ours/baseline, each on its own kept-alive connection, timed per request; median over rounds of each round's p50`,
      throughput: `per round, autocannon at ${CONNECTIONS} connections for ${PLAN.throughputSeconds} s on ours and on the baseline, one after the other, the order flipping each round; median over rounds`,
      rounds: rounds.list.length,
      warmupSecondsPerTarget: PLAN.warmupSeconds,
      data: `${manifest.rows} accounts in ${manifest.workspaces} workspaces; the benchmarked workspace holds ${manifest.rows1k}, ${page.rowsPerPage} per page (${page.responseBytes} bytes of JSON)`,
    },
    targets: TARGETS,
    list,
    get,
    rowsScaling,
    d1RoundTrips: d1,
    bundle,
    cron: { ...cron, idleTick },
    fanout,
    storage,
    verdicts,
  };
  writeFileSync(path.join(BENCH, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  print(results);
  clearTimeout(watchdog);
}

/** Whether a scheduled run still found work (then the next one is not idle yet). */
function busy(report) {
  const counts = Object.values(report ?? {}).flatMap((job) =>
    Object.entries(job ?? {}).flatMap(([k, v]) =>
      typeof v === "number"
        ? [k === "released" ? 0 : v]
        : Object.values(v ?? {}).filter((n) => typeof n === "number"),
    ),
  );
  return counts.some((n) => n > 0);
}

function verdict(what, value, op, limit) {
  const met = value !== null && value !== undefined && (op === "≤" ? value <= limit : value >= limit);
  return { what, value, target: `${op} ${limit}`, met };
}

function bundleComposition(outdir) {
  try {
    const meta = JSON.parse(readFileSync(path.join(outdir, "bundle-meta.json"), "utf8"));
    const output = Object.entries(meta.outputs).find(([file]) => file.endsWith("index.js"))?.[1];
    const sizes = {};
    for (const [file, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
      const m = file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)(\/v4\/locales)?/);
      const key = m ? `${m[1]}${m[2] ? " (locales)" : ""}` : file.startsWith("src/") ? "src/" : file;
      sizes[key] = (sizes[key] ?? 0) + bytesInOutput;
    }
    return Object.fromEntries(
      Object.entries(sizes)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8),
    );
  } catch {
    return null;
  }
}

function print(r) {
  const kb = (b) => `${(b / 1000).toFixed(1)} kB`;
  const lines = [
    "",
    `Switchboard benchmark (${r.mode}, ${r.method.rounds} rounds, ${r.durationSeconds} s) on ${r.machine.cpuModel} ×${r.machine.nproc}, Node ${r.machine.node}, wrangler ${r.machine.wrangler}`,
    "",
    "                          p50 1 conn    req/s 10 conn   CPU/req 10 conn",
  ];
  for (const [name, e] of [
    ["GET /v1/accounts", r.list],
    ["GET /v1/accounts/:id", r.get],
  ]) {
    lines.push(
      `${name.padEnd(22)} ours  ${String(e.ours.p50Ms1Conn).padStart(7)} ms   ${String(e.ours.reqPerSec10Conn).padStart(8)}      ${String(e.ours.cpuMsPerRequest10Conn).padStart(7)} ms`,
      `${"".padEnd(22)} base  ${String(e.baseline.p50Ms1Conn).padStart(7)} ms   ${String(e.baseline.reqPerSec10Conn).padStart(8)}      ${String(e.baseline.cpuMsPerRequest10Conn).padStart(7)} ms`,
      `${"".padEnd(22)} ratio ${String(e.ratios.p50).padStart(7)}×     ${String(e.ratios.reqPerSec).padStart(7)}×       ${String(e.ratios.cpuPerRequest).padStart(7)}×`,
    );
  }
  lines.push(
    "",
    `List p50 at 1k vs 100k rows: ours ${r.rowsScaling.ours.p50Ms1k} vs ${r.rowsScaling.ours.p50Ms100k} ms (${r.rowsScaling.ours.ratio}×), baseline ${r.rowsScaling.baseline.p50Ms1k} vs ${r.rowsScaling.baseline.p50Ms100k} ms (${r.rowsScaling.baseline.ratio}×)`,
    `D1 round trips: list ${r.d1RoundTrips.list.keyCacheHit.roundTrips} (key cached) / ${r.d1RoundTrips.list.keyCacheMiss.roundTrips} (cache miss), get ${r.d1RoundTrips.get.keyCacheHit.roundTrips} / ${r.d1RoundTrips.get.keyCacheMiss.roundTrips}; key cache ${r.d1RoundTrips.keyCacheTtlMs / 1000} s, revocation seen after ${r.d1RoundTrips.revocation.measuredDelayMs} ms`,
    `Bundle gzip: ${kb(r.bundle.asConfigured.gzipBytes)} as wrangler.toml deploys it (minify ${r.bundle.wranglerTomlMinify ? "on" : "off"}), ${kb(r.bundle.minified.gzipBytes)} minified`,
    `Cron: ${r.cron.refreshed} accounts in ${r.cron.elapsedMs} ms = ${r.cron.accountsPerSecond}/s, ${(r.cron.shareOfBound * 100).toFixed(1)}% of ${r.cron.boundPerSecond}/s; token endpoint saw at most ${r.cron.fakeTokenEndpoint.maxConcurrentRequests} requests (${r.cron.fakeTokenEndpoint.maxOpenConnections} connections) at once; the same pool with nothing but the fetches: ${r.cron.controlFetchOnly.perSecond}/s`,
    `Cron under the ${r.cron.perInvocation.queryCap}-query cap: one invocation refreshed ${r.cron.perInvocation.refreshed} of ${r.cron.perInvocation.due} due, handed ${r.cron.perInvocation.handedBack} back, ${r.cron.perInvocation.subrequestsSpent} subrequests spent`,
    `Idle cron run: ${r.cron.idleTick.rowsRead} D1 rows read (${r.cron.idleTick.rowsReadPerDay?.toLocaleString("en")} a day at one run a minute; free plan: 5,000,000), ${r.cron.idleTick.withPartialIndex.rowsRead} with a partial index on unrefreshable expiry`,
    "",
    "Targets:",
    ...r.verdicts.map((v) => `  ${v.met ? "met   " : "MISSED"} ${v.what}: ${v.value} (target ${v.target})`),
    "",
    `Fan-out: one consumer invocation refreshes ${r.fanout.perConsumerPerSecond.at100ms}/s at 100 ms and ${r.fanout.perConsumerPerSecond.at250ms}/s at 250 ms; one cron invocation enqueues ${r.fanout.enqueuedPerInvocation.toLocaleString("en")}; ${r.fanout.d1.primaryMsPerRefresh} ms of the D1 primary per refresh; covered: mix A ${r.fanout.accountsCoveredMixA.toLocaleString("en")}, mix C ${r.fanout.accountsCoveredMixC.toLocaleString("en")} (bound by ${r.fanout.boundBy})`,
    `Fan-out end to end: ${r.fanout.e2e.refreshed.toLocaleString("en")} of ${r.fanout.e2e.dueAccounts.toLocaleString("en")} refreshed in ${r.fanout.e2e.wallMs} ms (${r.fanout.e2e.refreshesPerSecond}/s), ${r.fanout.e2e.tokenRequests} token requests (${r.fanout.e2e.doubleRefreshes} double), at most ${r.fanout.e2e.tokenRequestsInFlightAtMost} in flight`,
    "Written to bench/results.json",
  );
  console.log(lines.join("\n"));
}

main()
  .catch(async (err) => {
    console.error(`[bench] ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
  });
