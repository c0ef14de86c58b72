// `npm run bench:sustained`: mixed reads and writes at 10 connections against `npm run dev` (wrangler
// dev, sandbox providers, the Cron Trigger fired every minute) for 10 minutes. Counts errors and 5xx,
// and answers latency percentiles per operation. Writes bench/sustained.json. See docs/benchmarks.md.
//   npm run bench:sustained                       10 minutes at 10 connections
//   npm run bench:sustained -- --minutes 1 --connections 4
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { spawnDevServer } from "../scripts/lib/dev-server.mjs";
import {
  BENCH,
  log,
  onCleanup,
  percentile,
  prng,
  ROOT,
  round,
  STATE,
  sleep,
  stopAll,
} from "./lib/common.mjs";

const { values: flags } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    connections: { type: "string", default: "10" },
  },
});
const MINUTES = Number(flags.minutes);
const CONNECTIONS = Number(flags.connections);
const START_TIMEOUT_MS = 180_000;
/** Accounts connected through the sandbox before the load starts. */
const SEED_ACCOUNTS = 20;

/** Operations and their weights: mostly reads, as a publishing SaaS calls us, with every write kind. */
const MIX = [
  ["list", 30],
  ["get", 20],
  ["health", 5],
  ["patch", 10],
  ["refresh", 5],
  ["test", 5],
  ["connect-start", 5],
  ["oauth-connect", 5],
  ["credentials-create-delete", 5],
  ["webhooks-read", 10],
];

/** Starts `npm run dev` on its own ports and state, stopped with everything else the run started. */
async function startDev(dir) {
  const envFile = path.join(dir, "sustained.vars");
  writeFileSync(envFile, readFileSync(path.join(ROOT, ".dev.vars.example"), "utf8"));
  const server = await spawnDevServer({
    state: path.join(dir, "state"),
    envFile,
    timeoutMs: START_TIMEOUT_MS,
    args: ["--log-level", "warn"],
    // Local tracing halves D1-route throughput (docs/benchmarks.md): measure the Worker, not it.
    env: { X_LOCAL_OBSERVABILITY: "false", WRANGLER_SEND_METRICS: "false" },
  });
  onCleanup(server.stop);
  return { ...(await server.ready), output: server.output };
}

/** A webhook receiver on loopback: counts what the Worker delivers. */
async function startReceiver() {
  let received = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received += 1;
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  onCleanup(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://localhost:${server.address().port}/hooks`, received: () => received };
}

function client(baseUrl, key) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const request = (method, pathname, body, { auth = true, headers = {} } = {}) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
      const req = http.request(
        new URL(pathname, baseUrl),
        {
          method,
          agent,
          headers: {
            ...(auth ? { authorization: `Bearer ${key}` } : {}),
            ...(payload !== undefined && typeof body !== "string"
              ? { "content-type": "application/json" }
              : {}),
            ...headers,
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => {
            text += chunk;
          });
          res.on("end", () => {
            let json = null;
            try {
              json = JSON.parse(text);
            } catch {}
            resolve({ status: res.statusCode, headers: res.headers, text, json });
          });
          res.on("error", reject);
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error("timed out after 30 s")));
      req.on("error", reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  return { request, close: () => agent.destroy() };
}

/** connect → the sandbox consent page → approve → the redirect URI → callback: one new account. */
async function oauthConnect(api, username, timed) {
  const started = await timed("POST /v1/accounts/connect/twitter", () =>
    api.request("POST", "/v1/accounts/connect/twitter", { callbackUrl: "http://localhost:3000/cb" }),
  );
  const authorize = new URL(started.json.authorizationUrl);
  const page = await timed("GET sandbox consent", () =>
    api.request("GET", authorize.pathname + authorize.search, undefined, { auth: false }),
  );
  const request = /name="request" value="([^"]+)"/.exec(page.text)?.[1];
  if (!request) throw new Error("no consent request on the sandbox page");
  const form = new URLSearchParams({ request, decision: "approve", username }).toString();
  const decided = await timed(
    "POST sandbox consent",
    () =>
      api.request("POST", authorize.pathname, form, {
        auth: false,
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    [302],
  );
  const redirect = new URL(decided.headers.location);
  const forwarded = await timed(
    "GET /v1/oauth/redirect/twitter",
    () => api.request("GET", redirect.pathname + redirect.search, undefined, { auth: false }),
    [302],
  );
  const back = new URL(forwarded.headers.location);
  const done = await timed("POST /v1/accounts/callback/twitter", () =>
    api.request("POST", "/v1/accounts/callback/twitter", {
      code: back.searchParams.get("code"),
      state: back.searchParams.get("state"),
    }),
  );
  return done.json.account.id;
}

async function main() {
  const dir = path.join(STATE, "sustained");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const watchdog = setTimeout(
    async () => {
      log("Watchdog: the run overran; stopping everything it started");
      await stopAll();
      process.exit(2);
    },
    (MINUTES * 60 + 600) * 1000,
  );
  watchdog.unref();

  log("Starting npm run dev on its own ports and state …");
  const dev = await startDev(dir);
  const receiver = await startReceiver();

  const benchStart = Date.now();
  const samples = new Map();
  const failures = [];
  let fiveHundreds = 0;
  /** Runs one request, records its latency under `name`; an unexpected status is an error. */
  const timed = async (name, fn, expected = [200, 201]) => {
    const t0 = process.hrtime.bigint();
    let res;
    try {
      res = await fn();
    } catch (err) {
      failures.push({ name, at: round((Date.now() - benchStart) / 1000, 1), error: err.message });
      throw err;
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (!samples.has(name)) samples.set(name, []);
    samples.get(name).push(ms);
    if (res.status >= 500) fiveHundreds += 1;
    if (!expected.includes(res.status)) {
      failures.push({
        name,
        at: round((Date.now() - benchStart) / 1000, 1),
        status: res.status,
        body: res.text.slice(0, 300),
      });
      throw new Error(`${name} answered ${res.status}`);
    }
    return res;
  };

  const setup = client(dev.baseUrl, dev.key);
  await timed("POST /v1/webhooks", () => setup.request("POST", "/v1/webhooks", { url: receiver.url }));
  const ids = [];
  for (let i = 0; i < SEED_ACCOUNTS; i++) ids.push(await oauthConnect(setup, `seed_${i}`, timed));
  setup.close();
  log(`Seeded ${ids.length} accounts through the sandbox; ${CONNECTIONS} connections for ${MINUTES} min …`);

  const total = MIX.reduce((sum, [, weight]) => sum + weight, 0);
  /** The operation whose share of the weights holds `r`. */
  const choose = (r) => {
    let rest = r;
    for (const [op, weight] of MIX) {
      rest -= weight;
      if (rest < 0) return op;
    }
    return MIX[0][0];
  };
  const end = Date.now() + MINUTES * 60_000;
  let operations = 0;
  let connected = 0;
  const lane = async (n) => {
    const api = client(dev.baseUrl, dev.key);
    const random = prng(n + 1);
    const pick = (list) => list[Math.floor(random() * list.length)];
    try {
      while (Date.now() < end) {
        const op = choose(random() * total);
        const id = pick(ids);
        operations += 1;
        try {
          if (op === "list")
            await timed("GET /v1/accounts", () => api.request("GET", "/v1/accounts?limit=20"));
          else if (op === "get")
            await timed("GET /v1/accounts/{id}", () => api.request("GET", `/v1/accounts/${id}`));
          else if (op === "health")
            await timed("GET /v1/accounts/health", () => api.request("GET", "/v1/accounts/health"));
          else if (op === "patch")
            await timed("PATCH /v1/accounts/{id}", () =>
              api.request("PATCH", `/v1/accounts/${id}`, { metadata: { lane: n, op: operations } }),
            );
          else if (op === "refresh")
            await timed("POST /v1/accounts/{id}/refresh", () =>
              api.request("POST", `/v1/accounts/${id}/refresh`),
            );
          else if (op === "test")
            await timed("POST /v1/accounts/{id}/test", () => api.request("POST", `/v1/accounts/${id}/test`));
          else if (op === "connect-start")
            await timed("POST /v1/accounts/connect/twitter", () =>
              api.request("POST", "/v1/accounts/connect/twitter", {
                callbackUrl: "http://localhost:3000/cb",
              }),
            );
          else if (op === "oauth-connect") {
            await oauthConnect(api, `load_${n}_${operations}`, timed);
            connected += 1;
          } else if (op === "credentials-create-delete") {
            const botToken = `${100000 + n * 1000 + (operations % 1000)}:${"A".repeat(10)}${crypto.randomUUID().replaceAll("-", "")}`;
            const created = await timed("POST /v1/accounts", () =>
              api.request("POST", "/v1/accounts", { platform: "telegram", credentials: { botToken } }),
            );
            await timed("DELETE /v1/accounts/{id}", () =>
              api.request("DELETE", `/v1/accounts/${created.json.account.id}`),
            );
          } else if (op === "webhooks-read")
            await timed("GET /v1/webhooks", () => api.request("GET", "/v1/webhooks"));
        } catch {
          // Counted in `failures`; the lane goes on.
        }
      }
    } finally {
      api.close();
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, n) => lane(n)));
  const seconds = (Date.now() - t0) / 1000;
  // The last minute's cron has delivered what the writes queued.
  await sleep(65_000);
  const cronWarnings = dev
    .output()
    .split("\n")
    .filter((line) => line.includes("[dev] Cron:"));

  const all = [...samples.values()].flat().sort((a, b) => a - b);
  const byOperation = Object.fromEntries(
    [...samples.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, values]) => {
        values.sort((a, b) => a - b);
        return [
          name,
          {
            requests: values.length,
            p50: round(percentile(values, 50)),
            p99: round(percentile(values, 99)),
            max: round(values.at(-1)),
          },
        ];
      }),
  );
  const results = {
    measuredAt: new Date().toISOString(),
    machine: { nproc: os.availableParallelism(), cpus: os.cpus()[0]?.model ?? null },
    minutes: MINUTES,
    connections: CONNECTIONS,
    seconds: round(seconds, 1),
    operations,
    requests: all.length,
    reqPerSec: round(all.length / seconds, 1),
    errors: failures.length,
    fiveHundreds,
    cronRunsExpected: Math.floor(seconds / 60),
    cronWarnings: cronWarnings.length,
    accountsConnectedUnderLoad: connected,
    webhookDeliveriesReceived: receiver.received(),
    latencyMs: {
      p50: round(percentile(all, 50)),
      p90: round(percentile(all, 90)),
      p99: round(percentile(all, 99)),
    },
    byOperation,
    firstFailures: failures.slice(0, 10),
  };
  writeFileSync(path.join(BENCH, "sustained.json"), `${JSON.stringify(results, null, 2)}\n`);
  log(
    `${results.requests} requests in ${results.seconds} s (${results.reqPerSec} req/s): ${results.errors} errors, ${results.fiveHundreds} 5xx, ${results.cronWarnings} cron warnings; p50 ${results.latencyMs.p50} ms, p99 ${results.latencyMs.p99} ms; ${results.webhookDeliveriesReceived} webhook deliveries`,
  );
  for (const [name, r] of Object.entries(byOperation))
    log(`  ${name.padEnd(36)} ${String(r.requests).padStart(7)}  p50 ${r.p50} ms  p99 ${r.p99} ms`);
  log("Written to bench/sustained.json");
  return results;
}

main()
  .then(async (results) => {
    await stopAll();
    process.exit(results.errors === 0 && results.fiveHundreds === 0 ? 0 : 1);
  })
  .catch(async (err) => {
    console.error(err);
    await stopAll();
    process.exit(1);
  });
