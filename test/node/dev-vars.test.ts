// Runs in Node, not workerd: starts the Worker the way `npm run dev` does (scripts/dev.mjs, so
// wrangler's own config and .dev.vars loading) and checks what a new user's .dev.vars reaches.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
// wrangler's start and the local migrations take seconds on a loaded 2-core machine; a deliberate bound.
const START_TIMEOUT_MS = 120_000;

const APP = { id: "real-app-client-id-0f3a", secret: "real-app-client-secret-9c1e" };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("npm run dev with a real platform app in .dev.vars", () => {
  let dir: string;
  let child: ChildProcess;
  let output = "";
  let dev: { key: string; baseUrl: string };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchboard-dev-"));
    const envFile = path.join(dir, ".dev.vars");
    writeFileSync(
      envFile,
      [
        'ENVIRONMENT="development"',
        'ADMIN_TOKEN="dev-vars-test-admin-token"',
        'TOKEN_ENCRYPTION_KEYS="k1:ZGV2LW9ubHkta2V5LWRvLW5vdC11c2UtaW4tcHJvZCE="',
        'SANDBOX_PROVIDERS="false"',
        `TWITTER_CLIENT_ID="${APP.id}"`,
        `TWITTER_CLIENT_SECRET="${APP.secret}"`,
      ].join("\n"),
    );
    const state = path.join(dir, "state");
    const [port, inspectorPort] = [await freePort(), await freePort()];
    child = spawn(
      process.execPath,
      [
        "scripts/dev.mjs",
        "--port",
        String(port),
        "--inspector-port",
        String(inspectorPort),
        "--persist-to",
        state,
        "--env-file",
        envFile,
        "--show-interactive-dev-session=false",
      ],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout?.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr?.on("data", (chunk) => {
      output += chunk;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!output.includes("Switchboard is running at")) {
      if (child.exitCode !== null) throw new Error(`npm run dev exited:\n${output}`);
      if (Date.now() > deadline) throw new Error(`npm run dev did not start:\n${output}`);
      await sleep(200);
    }
    dev = JSON.parse(readFileSync(path.join(state, "dev-api-key.json"), "utf8"));
  }, START_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 15_000);

  it("answers connect with an authorization URL for that app's client id, not the sandbox", async () => {
    const res = await fetch(`${dev.baseUrl}/v1/accounts/connect/twitter`, {
      method: "POST",
      headers: { authorization: `Bearer ${dev.key}`, "content-type": "application/json" },
      body: JSON.stringify({ callbackUrl: "http://localhost:3000/callback" }),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const url = new URL(JSON.parse(text).authorizationUrl);
    expect(url.origin + url.pathname).toBe("https://x.com/i/oauth2/authorize");
    expect(url.searchParams.get("client_id")).toBe(APP.id);
    expect(text).not.toContain(APP.secret);
    expect(output).not.toContain(APP.secret);
  });

  it("seeds a sandbox workspace, whose key is a swb_test_ key", async () => {
    expect(dev.key).toMatch(/^swb_test_/);
    expect(output).toContain(dev.key);
  });
});
