// `npm run dev`: local secrets, local D1 migrations, `wrangler dev`, a seeded dev API key, and the
// Cron Trigger fired every minute (wrangler dev never fires it). Extra arguments go to `wrangler dev`.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import { constants } from "node:os";
import path from "node:path";
import { styleText } from "node:util";
import { allScopes, callApi, describeError, NetworkError } from "./lib/api.mjs";
import { ROOT, readDevVars } from "./lib/env.mjs";

const DEFAULT_PORT = 8787;
const READY_HINT_MS = 60_000;
const CRON = "* * * * *";

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (format, text) => (color ? styleText(format, text) : text);
const say = (message) => console.log(`${paint("cyan", "[dev]")} ${message}`);
const warn = (message) => console.warn(`${paint("yellow", "[dev]")} ${message}`);

const wranglerArgs = process.argv.slice(2);

/** Every value of a flag given as `--name value` or `--name=value`, in order. */
function flags(args, ...names) {
  const values = [];
  for (let i = 0; i < args.length; i++) {
    for (const name of names) {
      if (args[i] === name && i + 1 < args.length) values.push(args[i + 1]);
      else if (args[i].startsWith(`${name}=`)) values.push(args[i].slice(name.length + 1));
    }
  }
  return values;
}

/** The first value of a flag, or undefined. */
const flag = (args, ...names) => flags(args, ...names)[0];

const wranglerBin = (() => {
  const require = createRequire(path.join(ROOT, "package.json"));
  const manifest = require.resolve("wrangler/package.json");
  const { bin } = JSON.parse(readFileSync(manifest, "utf8"));
  return path.join(path.dirname(manifest), typeof bin === "string" ? bin : bin.wrangler);
})();

/** Runs wrangler with this same Node (the project's Node 24, whatever `node` is on PATH). */
function wrangler(args, options) {
  return spawn(process.execPath, [wranglerBin, ...args], { cwd: ROOT, ...options });
}

// Flags that choose the database, config or environment apply to the migrations too.
const sharedArgs = [];
for (const names of [["--config", "-c"], ["--env", "-e"], ["--persist-to"]]) {
  const value = flag(wranglerArgs, ...names);
  if (value !== undefined) sharedArgs.push(names[0], value);
}
const envName = flag(wranglerArgs, "--env", "-e");
// `--env-file` replaces .dev.vars for wrangler; the seeding reads the same files.
const envFiles = flags(wranglerArgs, "--env-file");
const devVars = () => readDevVars(envName, envFiles);
// The dev key belongs to the local state it was seeded into.
const persistTo = flag(wranglerArgs, "--persist-to");
const KEY_FILE = path.join(
  persistTo ? path.resolve(ROOT, persistTo) : path.join(ROOT, ".wrangler"),
  "dev-api-key.json",
);

const port = Number(flag(wranglerArgs, "--port") ?? DEFAULT_PORT);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  warn(`--port must be a port number, got ${flag(wranglerArgs, "--port")}`);
  process.exit(2);
}
const ip = flag(wranglerArgs, "--ip");
const host = !ip || ["localhost", "0.0.0.0", "::", "*"].includes(ip) ? "127.0.0.1" : ip;
const baseUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

function ensureDevVars() {
  const file = path.join(ROOT, ".dev.vars");
  if (envFiles.length || existsSync(file) || (envName && existsSync(`${file}.${envName}`))) return;
  copyFileSync(path.join(ROOT, ".dev.vars.example"), file);
  say("Created .dev.vars from .dev.vars.example (local-only secrets; edit it to change them).");
}

/** Applies pending local D1 migrations; shows wrangler's output only when it fails. */
function migrate() {
  return new Promise((resolve) => {
    // CI=true answers wrangler's "continue?" prompt with its default (yes).
    const child = wrangler(["d1", "migrations", "apply", "DB", "--local", ...sharedArgs], {
      env: { ...process.env, CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("close", (code) => {
      if (code !== 0) {
        process.stderr.write(output);
        warn(`Local D1 migrations failed (wrangler exited with ${code}).`);
        process.exit(code || 1);
      }
      // wrangler reprints the status table after each migration.
      const applied = [...new Set(Array.from(output.matchAll(/(\S+\.sql)\s*│\s*✅/g), (m) => m[1]))];
      say(
        applied.length
          ? `Applied local D1 migrations: ${applied.join(", ")}`
          : "Local D1 migrations are up to date.",
      );
      resolve();
    });
  });
}

/** Fails early when the port is taken, rather than talking to whatever already listens there. */
function assertPortFree() {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once("connect", () => {
      socket.destroy();
      warn(
        `Something already listens on ${host}:${port}. Stop it or pass another port: npm run dev -- --port 8788`,
      );
      process.exit(1);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", () => resolve());
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves true once GET /healthz answers 200, false if wrangler exits first. Keeps waiting past a
 * build error (wrangler stays up and rebuilds on save), with one hint after a while.
 */
async function waitUntilReady(child, isStopping) {
  const hintAt = Date.now() + READY_HINT_MS;
  let hinted = false;
  while (child.exitCode === null && child.signalCode === null && !isStopping()) {
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return true;
    } catch {}
    if (!hinted && Date.now() > hintAt) {
      hinted = true;
      warn(
        `Still waiting for ${baseUrl}/healthz (see wrangler's output above); the dev key follows once it answers.`,
      );
    }
    await sleep(500);
  }
  return false;
}

function readSavedKey() {
  try {
    const saved = JSON.parse(readFileSync(KEY_FILE, "utf8"));
    return typeof saved.key === "string" && typeof saved.workspaceId === "string" ? saved : null;
  } catch {
    return null;
  }
}

/** Creates the dev workspace and a key with every scope, and saves both. */
async function seed(adminToken) {
  const admin = (method, apiPath, body) =>
    callApi(baseUrl, { method, path: apiPath, token: adminToken, body });
  // A sandbox workspace: its keys are swb_test_, as the README ties test keys to local and sandbox use.
  const workspace = await admin("POST", "/v1/admin/workspaces", {
    name: "Dev workspace",
    plan: "enterprise",
    sandbox: true,
    allowedCallbackDomains: ["localhost", "127.0.0.1"],
  });
  if (workspace.status !== 201) throw new Error(`Creating the dev workspace: ${describeError(workspace)}`);
  const workspaceId = workspace.body.id;
  const scopes = await allScopes(baseUrl);
  const key = await admin("POST", `/v1/admin/workspaces/${workspaceId}/keys`, { name: "dev", scopes });
  if (key.status !== 201) throw new Error(`Issuing the dev key: ${describeError(key)}`);
  const saved = { workspaceId, keyId: key.body.apiKey.id, key: key.body.key, baseUrl };
  mkdirSync(path.dirname(KEY_FILE), { recursive: true });
  writeFileSync(KEY_FILE, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
  return saved;
}

/** Reuses the saved dev key while it still authenticates; seeds a new one when local state was reset. */
async function devKey() {
  const saved = readSavedKey();
  if (saved) {
    const check = await callApi(baseUrl, { path: "/v1/accounts?limit=1", token: saved.key });
    if (check.status === 200) return { ...saved, reused: true };
    if (check.status !== 401) {
      warn(`Could not check the saved dev key: ${describeError(check)}`);
      return { ...saved, reused: true };
    }
    say("The saved dev key no longer authenticates (local state was reset?): seeding again.");
  }
  const adminToken = devVars()?.ADMIN_TOKEN;
  if (!adminToken) {
    warn("ADMIN_TOKEN is not set in .dev.vars: skipping the dev workspace and key.");
    return null;
  }
  return { ...(await seed(adminToken)), reused: false };
}

function printBanner(dev) {
  const rule = paint("dim", "─".repeat(72));
  const lines = ["", rule, `  Switchboard is running at ${paint("bold", baseUrl)}`];
  if (dev) {
    lines.push(
      `  Dev API key ${dev.reused ? "(saved earlier)" : "(new)"} for workspace ${dev.workspaceId}, all scopes:`,
      "",
      `    ${paint(["bold", "green"], dev.key)}`,
      "",
      "  Try it:",
      `    curl -H "Authorization: Bearer ${dev.key}" ${baseUrl}/v1/accounts`,
      "",
      `  Saved in ${path.relative(ROOT, KEY_FILE)}. Admin CLI: npm run admin -- --help`,
    );
    if (dev.key.startsWith("swb_live_")) {
      lines.push(
        `  This key predates sandbox dev workspaces: delete ${path.relative(ROOT, KEY_FILE)} for a swb_test_ one.`,
      );
    }
  }
  lines.push(
    `  API reference: ${baseUrl}/docs   OpenAPI: ${baseUrl}/v1/openapi.json`,
    "  The Cron Trigger fires every minute while this runs. Ctrl-C stops.",
    rule,
    "",
  );
  console.log(lines.join("\n"));
}

/** Fires the scheduled handler at the start of every minute, like the deployed Cron Trigger. */
function startCron(isStopping) {
  let timer;
  let running = false;
  const fire = async () => {
    if (running) return;
    running = true;
    try {
      const query = new URLSearchParams({ cron: CRON });
      const res = await fetch(`${baseUrl}/cdn-cgi/local/scheduled?${query}`, {
        signal: AbortSignal.timeout(55_000),
      });
      if (!res.ok) warn(`Cron: the scheduled handler answered ${res.status}`);
    } catch (err) {
      // The server may be restarting: the next minute tries again.
      if (!isStopping()) warn(`Cron: could not run the scheduled handler (${err.message})`);
    } finally {
      running = false;
    }
  };
  const schedule = () => {
    timer = setTimeout(
      () => {
        fire();
        schedule();
      },
      60_000 - (Date.now() % 60_000),
    );
  };
  schedule();
  return () => clearTimeout(timer);
}

async function main() {
  ensureDevVars();
  await migrate();
  await assertPortFree();

  const args = ["dev", ...wranglerArgs];
  if (flag(wranglerArgs, "--port") === undefined) args.push("--port", String(port));
  // The Worker's own URL follows the port, unless .dev.vars or --var chose one (e.g. a tunnel).
  const publicUrlSet =
    devVars()?.PUBLIC_URL !== undefined ||
    wranglerArgs.some((arg, i) => wranglerArgs[i - 1] === "--var" && arg.startsWith("PUBLIC_URL:"));
  if (!publicUrlSet) args.push("--var", `PUBLIC_URL:${baseUrl}`);

  say(`Starting wrangler dev on ${baseUrl} …`);
  const child = wrangler(args, { stdio: "inherit" });
  let stopCron = () => {};
  let stopping = false;

  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      stopping = true;
      stopCron();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  child.on("exit", (code, signal) => {
    stopCron();
    if (signal) process.exit(128 + (constants.signals[signal] ?? 1));
    process.exit(code ?? 1);
  });
  child.on("error", (err) => {
    warn(`Could not start wrangler: ${err.message}`);
    process.exit(1);
  });

  if (!(await waitUntilReady(child, () => stopping))) return;
  let dev = null;
  try {
    dev = await devKey();
  } catch (err) {
    warn(err instanceof NetworkError ? err.message : `Seeding failed: ${err.message}`);
  }
  printBanner(dev);
  if (!stopping) stopCron = startCron(() => stopping);
}

main().catch((err) => {
  warn(err.stack ?? String(err));
  process.exit(1);
});
