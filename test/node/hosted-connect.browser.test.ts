// Runs in Node: the hosted connect page in a real headless Chromium (the system's, not a download)
// against `npm run dev` with the built-in sandbox providers, one dev server and one browser for
// every flow. Screenshots of each step go to test-results/hosted-connect (git-ignored).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, freePort, spawnDevServer } from "../../scripts/lib/dev-server.mjs";

// wrangler's start and the local migrations take seconds on a loaded 2-core machine; a deliberate bound.
const START_TIMEOUT_MS = 120_000;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = path.join(import.meta.dirname, "..", "..", "test-results", "hosted-connect");
const FLOW_TIMEOUT_MS = 30_000;
const SDK = path.join(import.meta.dirname, "..", "..", "client", "connect", "switchboard-connect.js");
/** The customer's page: a button that opens the session given in ?session= through the SDK. */
const APP_PAGE = `<!doctype html><title>App</title><button id="connect">Connect</button>
<script type="module">
import { openConnect } from "/sdk/switchboard-connect.js";
const url = new URLSearchParams(location.search).get("session");
document.querySelector("#connect").addEventListener("click", async () => {
  const result = await openConnect({ url, onError: (e) => { document.body.dataset.error = e.code; } });
  document.body.dataset.result = JSON.stringify(result);
});
</script>`;
const TEST_TIMEOUT_MS = 60_000;

interface Hook {
  type: string;
  data: { account: { id: string; endUserId: string | null; platform: string } };
}

describe.skipIf(!existsSync(CHROMIUM))("hosted connect in a real browser, against npm run dev", () => {
  let dir: string;
  let server: DevServer | undefined;
  let dev: { key: string; baseUrl: string };
  let browser: Browser | undefined;
  let receiver: Server;
  let receiverUrl: string;
  const hooks: Hook[] = [];

  const api = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${dev.baseUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${dev.key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchboard-hosted-"));
    mkdirSync(SHOTS, { recursive: true });
    const envFile = path.join(dir, ".dev.vars");
    writeFileSync(
      envFile,
      [
        'ENVIRONMENT="development"',
        'ADMIN_TOKEN="hosted-connect-test-admin-token"',
        'TOKEN_ENCRYPTION_KEYS="k1:ZGV2LW9ubHkta2V5LWRvLW5vdC11c2UtaW4tcHJvZCE="',
        'SANDBOX_PROVIDERS="true"',
      ].join("\n"),
    );
    // The customer's app: where returnUrl lands, and its webhook receiver.
    const port = await freePort();
    receiver = createServer((req, res) => {
      if (req.method === "POST" && req.url === "/hooks") {
        let body = "";
        req.on("data", (chunk) => {
          body += chunk;
        });
        req.on("end", () => {
          hooks.push(JSON.parse(body) as Hook);
          res.writeHead(204).end();
        });
        return;
      }
      if (req.url?.startsWith("/sdk/")) {
        res.writeHead(200, { "content-type": "text/javascript" }).end(readFileSync(SDK));
        return;
      }
      if (req.url?.startsWith("/app")) {
        res.writeHead(200, { "content-type": "text/html" }).end(APP_PAGE);
        return;
      }
      res
        .writeHead(200, { "content-type": "text/html" })
        .end("<!doctype html><title>Back in the app</title>");
    });
    await new Promise<void>((resolve) => receiver.listen(port, "127.0.0.1", resolve));
    receiverUrl = `http://127.0.0.1:${port}`;
    const [started, launched] = await Promise.all([
      spawnDevServer({ state: path.join(dir, "state"), envFile, timeoutMs: START_TIMEOUT_MS }).then(
        async (s) => {
          server = s;
          return s.ready;
        },
      ),
      chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] }),
    ]);
    dev = started;
    browser = launched;
    const webhook = await api("POST", "/v1/webhooks", { url: `${receiverUrl}/hooks` });
    expect(webhook.status, webhook.text).toBe(201);
  }, START_TIMEOUT_MS + 20_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  async function newSession(endUserId: string) {
    const res = await api("POST", "/v1/connect/sessions", {
      endUserId,
      endUserName: "Ada",
      returnUrl: `${receiverUrl}/return`,
      metadata: { flow: endUserId },
    });
    expect(res.status, res.text).toBe(201);
    return res.json as { id: string; url: string };
  }

  async function open(url: string): Promise<Page> {
    const context = await (browser as Browser).newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    page.setDefaultTimeout(FLOW_TIMEOUT_MS);
    await page.goto(url);
    return page;
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  async function approve(page: Page, platform: string, name: string) {
    await page.waitForURL(new RegExp(`/sandbox/${platform}/authorize`));
    await shot(page, `${name}-2-consent`);
    await page.click('button[value="approve"]');
  }

  /** The returnUrl's parameters, the account through the API, and its account.connected webhook. */
  async function landed(page: Page, session: { id: string }, endUserId: string, name: string) {
    await page.waitForSelector('[data-connect-result="success"]');
    await shot(page, `${name}-4-result`);
    await page.waitForURL(new RegExp(`^${receiverUrl}/return\\?`));
    const params = Object.fromEntries(new URL(page.url()).searchParams);
    expect(params).toMatchObject({ status: "success", endUserId, sessionId: session.id });
    const account = await api("GET", `/v1/accounts/${params.accountId}`);
    expect(account.status, account.text).toBe(200);
    expect(account.json).toMatchObject({ endUserId, metadata: { flow: endUserId } });
    const deadline = Date.now() + 10_000;
    let hook: Hook | undefined;
    while (!hook && Date.now() < deadline) {
      hook = hooks.find((h) => h.type === "account.connected" && h.data.account.id === params.accountId);
      if (!hook) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(hook?.data.account.endUserId).toBe(endUserId);
    await page.context().close();
    return account.json;
  }

  it(
    "LinkedIn: consent, an organisation picked, back on returnUrl",
    async () => {
      const session = await newSession("end-linkedin");
      const page = await open(session.url);
      expect((await page.request.get(session.url)).headers()["content-security-policy"]).toContain(
        "script-src 'self'",
      );
      await shot(page, "linkedin-1-platforms");
      await page.click("[data-platform=linkedin]");
      await approve(page, "linkedin", "linkedin");
      await page.waitForSelector("[data-page-id]");
      await shot(page, "linkedin-3-pages");
      const pageId = await page.getAttribute("[data-page-id]", "data-page-id");
      await page.click("[data-page-id]");
      const account = await landed(page, session, "end-linkedin", "linkedin");
      expect(account.selectedPage?.id).toBe(pageId);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "X: consent and back",
    async () => {
      const session = await newSession("end-x");
      const page = await open(session.url);
      await page.click("[data-platform=twitter]");
      await approve(page, "twitter", "x");
      const account = await landed(page, session, "end-x", "x");
      expect(account.platform).toBe("twitter");
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "Instagram through Facebook Login: the business account picked",
    async () => {
      const session = await newSession("end-instagram");
      const page = await open(session.url);
      await page.click("[data-platform=instagram]");
      await shot(page, "instagram-1-login");
      await page.click("[data-login=facebook]");
      await approve(page, "facebook", "instagram");
      await page.waitForSelector("[data-page-id]");
      await shot(page, "instagram-3-pages");
      await page.click("[data-page-id]");
      const account = await landed(page, session, "end-instagram", "instagram");
      expect(account).toMatchObject({ platform: "instagram", accountType: "business" });
      expect(account.selectedPage).not.toBeNull();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "WhatsApp through Embedded Signup and TikTok as a Business account: each login chosen on the page",
    async () => {
      const session = await newSession("end-whatsapp");
      const page = await open(session.url);
      await page.click("[data-platform=whatsapp]");
      await shot(page, "whatsapp-1-login");
      await page.click("[data-login=embedded-signup]");
      await approve(page, "facebook", "whatsapp");
      const account = await landed(page, session, "end-whatsapp", "whatsapp");
      expect(account).toMatchObject({ platform: "whatsapp", accountType: "business" });
      expect(account.selectedPage).not.toBeNull();

      const tiktok = await newSession("end-tiktok");
      const choice = await open(tiktok.url);
      await choice.click("[data-platform=tiktok]");
      await shot(choice, "tiktok-1-login");
      await choice.click("[data-login=tiktok-business]");
      await approve(choice, "tiktok", "tiktok");
      const business = await landed(choice, tiktok, "end-tiktok", "tiktok");
      expect(business).toMatchObject({ platform: "tiktok", accountType: "business" });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "YouTube: the brand account's channel picked",
    async () => {
      const session = await newSession("end-youtube");
      const page = await open(session.url);
      await page.click("[data-platform=youtube]");
      await approve(page, "youtube", "youtube");
      await page.waitForSelector("[data-page-id]");
      await shot(page, "youtube-3-channels");
      const ids = await page.$$eval("[data-page-id]", (buttons) =>
        buttons.map((button) => button.getAttribute("data-page-id")),
      );
      expect(ids).toHaveLength(2);
      await page.click(`[data-page-id="${ids[1]}"]`);
      const account = await landed(page, session, "end-youtube", "youtube");
      expect(account).toMatchObject({ platform: "youtube", selectedPage: { id: ids[1] } });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "Mastodon: the server asked for, then consent",
    async () => {
      const session = await newSession("end-mastodon");
      const page = await open(session.url);
      await page.click("[data-platform=mastodon]");
      await page.fill("input[name=instance]", "mastodon.social");
      await shot(page, "mastodon-1-instance");
      await page.click("button[type=submit]");
      await approve(page, "mastodon", "mastodon");
      const account = await landed(page, session, "end-mastodon", "mastodon");
      expect(account.platform).toBe("mastodon");
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "the browser SDK: a popup whose result is posted to the app's origin",
    async () => {
      const created = await api("POST", "/v1/connect/sessions", {
        endUserId: "end-sdk",
        origin: receiverUrl,
      });
      expect(created.status, created.text).toBe(201);
      const page = await open(`${receiverUrl}/app?session=${encodeURIComponent(created.json.url)}`);
      const [popup] = await Promise.all([page.waitForEvent("popup"), page.click("#connect")]);
      popup.setDefaultTimeout(FLOW_TIMEOUT_MS);
      await popup.click("[data-platform=twitter]");
      await approve(popup, "twitter", "sdk");
      await popup.waitForSelector('[data-connect-result="success"]');
      await shot(popup, "sdk-4-popup-result");
      await page.waitForFunction("document.body.dataset.result !== undefined");
      const result = JSON.parse((await page.getAttribute("body", "data-result")) as string);
      expect(result).toMatchObject({ endUserId: "end-sdk", sessionId: created.json.id, platform: "twitter" });
      const session = await api("GET", `/v1/connect/sessions/${created.json.id}`);
      expect(result.accountId).toBe(session.json.accountId);
      await popup.waitForEvent("close");
      await page.context().close();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "a denied consent ends on the error screen",
    async () => {
      const session = await newSession("end-denied");
      const page = await open(session.url);
      await page.click("[data-platform=twitter]");
      await page.waitForURL(/\/sandbox\/twitter\/authorize/);
      await page.click('button[value="deny"]');
      await page.waitForSelector('[data-connect-result="error"]');
      await shot(page, "denied-result");
      expect(await page.textContent("[data-connect-message]")).toContain("You declined access on X");
      expect(await page.isVisible("[data-retry]")).toBe(true);
      const state = await api("GET", `/v1/connect/sessions/${session.id}`);
      expect(state.json).toMatchObject({ status: "failed", error: { code: "ACCESS_DENIED" } });
      await page.context().close();
    },
    TEST_TIMEOUT_MS,
  );
});
