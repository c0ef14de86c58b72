// The load driver, on loopback only: a sequential keep-alive loop timed per request with hrtime
// (the 1-connection latency), autocannon for throughput at N connections, and the workerd process's
// CPU time over each run (utime + stime from /proc), divided by the requests it served.
import { readFileSync } from "node:fs";
import http from "node:http";
import autocannon from "autocannon";
import { percentile } from "./common.mjs";

const TICKS_PER_SECOND = 100;

/** CPU seconds the process has used so far (user + system, all threads). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function assertLoopback(url) {
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1") throw new Error(`The benchmark only targets 127.0.0.1, not ${host}`);
}

function get(agent, url, headers) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      let size = 0;
      res.on("data", (chunk) => {
        size += chunk.length;
      });
      res.on("end", () => resolve({ status: res.statusCode, size, headers: res.headers }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** One request, for checks: status, headers and the parsed body. */
export function fetchJson(url, headers = {}) {
  assertLoopback(url);
  return fetch(url, { headers }).then(async (res) => ({
    status: res.status,
    headers: res.headers,
    body: await res.json().catch(() => null),
  }));
}

/**
 * 1-connection latency, paired: requests alternate between the targets (A B B A A B …), each target
 * on its own kept-alive connection and never two in flight, so the machine's noise falls on both
 * alike. Answers each target's percentiles, in milliseconds.
 */
export async function pairedLatency(targets, { seconds }) {
  for (const t of targets) assertLoopback(t.url);
  const agents = targets.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const samples = targets.map(() => []);
  const bad = targets.map(() => 0);
  const end = performance.now() + seconds * 1000;
  try {
    for (let i = 0; performance.now() < end; i++) {
      const order = i % 2 === 0 ? targets.keys() : [...targets.keys()].reverse();
      for (const k of order) {
        const t0 = process.hrtime.bigint();
        const res = await get(agents[k], targets[k].url, targets[k].headers ?? {});
        samples[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (res.status !== 200) bad[k] += 1;
      }
    }
  } finally {
    for (const agent of agents) agent.destroy();
  }
  return samples.map((latencies, k) => {
    latencies.sort((a, b) => a - b);
    return {
      requests: latencies.length,
      non200: bad[k],
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
    };
  });
}

/** autocannon at `connections` for `seconds`: requests per second, and CPU per request. */
export async function throughputRun(url, { headers = {}, seconds, connections, pid }) {
  assertLoopback(url);
  const cpu0 = pid ? cpuSeconds(pid) : 0;
  const t0 = performance.now();
  const result = await autocannon({ url, connections, duration: seconds, headers });
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = pid ? cpuSeconds(pid) - cpu0 : null;
  const ok = result["2xx"];
  return {
    requests: ok,
    errors: result.errors + result.timeouts + result.non2xx,
    reqPerSec: ok / elapsed,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMsPerRequest: cpu === null || ok === 0 ? null : (cpu * 1000) / ok,
  };
}

// CLI: node bench/lib/load.mjs <url> [connections=1] [seconds=5] [header:value …]
if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, connections = "1", seconds = "5", ...rest] = process.argv.slice(2);
  const headers = Object.fromEntries(
    rest.map((h) => [h.slice(0, h.indexOf(":")), h.slice(h.indexOf(":") + 1)]),
  );
  const run =
    Number(connections) === 1
      ? pairedLatency([{ url, headers }], { seconds: Number(seconds) }).then(([r]) => r)
      : throughputRun(url, { headers, seconds: Number(seconds), connections: Number(connections) });
  run.then((r) => console.log(JSON.stringify(r, null, 2)));
}
