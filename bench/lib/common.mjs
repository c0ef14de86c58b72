// Shared by the benchmark scripts: paths, the project's own wrangler run with the project's Node,
// and a registry of everything started, so every exit path stops it.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..", "..");
export const BENCH = path.join(ROOT, "bench");
export const STATE = path.join(BENCH, ".state");
/** wrangler's --persist-to root; Miniflare reads the same files from `${PERSIST}/v3`. */
export const PERSIST = path.join(STATE, "persist");
export const VARS_FILE = path.join(STATE, "bench.vars");
export const MANIFEST_FILE = path.join(STATE, "seed.json");

/** Same compatibility date and D1 ids as wrangler.toml and bench/baseline/wrangler.toml. */
export const COMPATIBILITY_DATE = "2026-11-01";
export const DB_100K_ID = "00000000-0000-0000-0000-000000000000";
export const DB_1K_ID = "00000000-0000-0000-0000-000000001000";

const require = createRequire(path.join(ROOT, "package.json"));

export const wranglerBin = (() => {
  const manifest = require.resolve("wrangler/package.json");
  const { bin } = JSON.parse(readFileSync(manifest, "utf8"));
  return path.join(path.dirname(manifest), typeof bin === "string" ? bin : bin.wrangler);
})();

export const wranglerVersion = JSON.parse(
  readFileSync(require.resolve("wrangler/package.json"), "utf8"),
).version;

export const log = (message) => console.log(`[bench] ${message}`);

const children = new Set();

/** Runs wrangler with this same Node; resolves its combined output, rejects with it on failure. */
export function wrangler(args, { quiet = true } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wranglerBin, ...args], {
      cwd: ROOT,
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", X_LOCAL_OBSERVABILITY: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    let output = "";
    const collect = (chunk) => {
      output += chunk;
      if (!quiet) process.stdout.write(chunk);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (err) => {
      children.delete(child);
      reject(err);
    });
    child.on("close", (code, signal) => {
      children.delete(child);
      if (code === 0) resolve(output);
      else reject(new Error(`wrangler ${args.slice(0, 3).join(" ")} failed (${signal ?? code}):\n${output}`));
    });
  });
}

const cleanups = [];

/** Registers a stop function; `stopAll` runs them newest first, each once. */
export function onCleanup(fn) {
  cleanups.push(fn);
}

export async function stopAll() {
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch {}
  }
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  }
}

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping everything this run started`);
    await stopAll();
    process.exit(130);
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile of an already sorted array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export const round = (value, digits = 2) =>
  value === null || value === undefined || !Number.isFinite(value) ? null : Number(value.toFixed(digits));

/** mulberry32: a small deterministic PRNG (numbers in [0, 1)), so a run or a re-seed repeats itself. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
