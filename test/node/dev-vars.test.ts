// Runs in Node, not workerd: starts the Worker the way `npm run dev` does (scripts/dev.mjs, so
// wrangler's own config and .dev.vars loading) and checks what a new user's .dev.vars reaches.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, spawnDevServer } from "../../scripts/lib/dev-server.mjs";

// wrangler's start and the local migrations take seconds on a loaded 2-core machine; a deliberate bound.
const START_TIMEOUT_MS = 120_000;

const APP = { id: "real-app-client-id-0f3a", secret: "real-app-client-secret-9c1e" };
const META_APP = { id: "1234567890123456", secret: "meta-app-secret-5d7b", configId: "987654321098765" };

describe("npm run dev with a real platform app in .dev.vars", () => {
  let dir: string;
  let server: DevServer | undefined;
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
        `FACEBOOK_CLIENT_ID="${META_APP.id}"`,
        `FACEBOOK_CLIENT_SECRET="${META_APP.secret}"`,
        `WHATSAPP_CONFIG_ID="${META_APP.configId}"`,
      ].join("\n"),
    );
    server = await spawnDevServer({ state: path.join(dir, "state"), envFile, timeoutMs: START_TIMEOUT_MS });
    dev = await server.ready;
  }, START_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 15_000);

  /** POST …/connect/{platform} with the dev key: the authorization URL and the answer's text. */
  async function connect(platform: string) {
    const res = await fetch(`${dev.baseUrl}/v1/accounts/connect/${platform}`, {
      method: "POST",
      headers: { authorization: `Bearer ${dev.key}`, "content-type": "application/json" },
      body: JSON.stringify({ callbackUrl: "http://localhost:3000/callback" }),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return { url: new URL(JSON.parse(text).authorizationUrl), text };
  }

  it("answers connect with an authorization URL for that app's client id, not the sandbox", async () => {
    const { url, text } = await connect("twitter");
    expect(url.origin + url.pathname).toBe("https://x.com/i/oauth2/authorize");
    expect(url.searchParams.get("client_id")).toBe(APP.id);
    expect(text).not.toContain(APP.secret);
    expect(server?.output()).not.toContain(APP.secret);
  });

  it("runs WhatsApp Embedded Signup on Facebook's dialog with the Meta app and the configuration from .dev.vars", async () => {
    const { url, text } = await connect("whatsapp");
    expect(url.origin + url.pathname).toBe("https://www.facebook.com/v26.0/dialog/oauth");
    expect(url.searchParams.get("client_id")).toBe(META_APP.id);
    expect(url.searchParams.get("config_id")).toBe(META_APP.configId);
    expect(url.searchParams.get("redirect_uri")).toMatch(/\/v1\/oauth\/redirect\/whatsapp$/);
    expect(text).not.toContain(META_APP.secret);
    expect(server?.output()).not.toContain(META_APP.secret);
  });

  it("seeds a sandbox workspace, whose key is a swb_test_ key", async () => {
    expect(dev.key).toMatch(/^swb_test_/);
    expect(server?.output()).toContain(dev.key);
  });

  it("serves the reference's script from the Worker's static assets, not a CDN", async () => {
    const page = await (await fetch(`${dev.baseUrl}/docs`)).text();
    const src = page.match(/<script src="([^"]+)"/)?.[1];
    expect(src).toBe("/docs/scalar.js");
    const script = await fetch(`${dev.baseUrl}${src}`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toContain("javascript");
    expect(await script.text()).toContain("createApiReference");
  });
});
