// Starts `npm run dev` (scripts/dev.mjs: wrangler's own config and env-file loading, the local
// migrations, the seeded dev key) on free ports with its own state, for the tests and benchmarks that
// need the real dev server.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { ROOT } from "./env.mjs";

/** What scripts/dev.mjs prints once the Worker answers and the dev key is seeded. */
const READY = "Switchboard is running at";
const POLL_MS = 200;
/** How long a stopped server gets to exit before it is killed. */
const STOP_GRACE_MS = 10_000;

/** A TCP port free on loopback now (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts scripts/dev.mjs on two free ports (HTTP and inspector) with its own state and env file. */
export async function spawnDevServer({ state, envFile, timeoutMs, args = [], env = {} }) {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      path.join("scripts", "dev.mjs"),
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      state,
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
      ...args,
    ],
    { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const collect = (chunk) => {
    output += chunk;
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const running = () => child.exitCode === null && child.signalCode === null;
  const exited = new Promise((resolve) => child.once("exit", resolve));

  const stop = async () => {
    if (!running()) return;
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(kill);
  };

  const ready = (async () => {
    const deadline = Date.now() + timeoutMs;
    while (!output.includes(READY)) {
      if (!running()) throw new Error(`npm run dev exited:\n${output}`);
      if (Date.now() > deadline) throw new Error(`npm run dev did not start:\n${output}`);
      await sleep(POLL_MS);
    }
    const dev = JSON.parse(readFileSync(path.join(state, "dev-api-key.json"), "utf8"));
    return { baseUrl: dev.baseUrl ?? `http://127.0.0.1:${port}`, key: dev.key };
  })().catch(async (err) => {
    await stop();
    throw err;
  });

  return { ready, output: () => output, stop };
}
