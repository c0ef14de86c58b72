import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createSwitchboard, type Switchboard, SwitchboardError } from "../../client/src/index";
import { verifyWebhook, WebhookVerificationError } from "../../client/src/webhooks";
import { BASE, call, createWorkspace, insertAccount, type TestWorkspace } from "../helpers/api";
import { fakePlatform } from "../helpers/fake-provider";
import { Receiver } from "../helpers/receiver";

let ws: TestWorkspace;
let client: Switchboard;
let requests: string[];

/** The client as a customer builds it, calling the Worker's own fetch handler instead of the network. */
const clientFor = (apiKey: string, options: { maxRetries?: number } = {}) =>
  createSwitchboard({
    baseUrl: BASE,
    apiKey,
    ...options,
    fetch: (request) => {
      requests.push(`${request.method} ${new URL(request.url).pathname}${new URL(request.url).search}`);
      return exports.default.fetch(request);
    },
  });

beforeEach(async () => {
  ws = await createWorkspace();
  requests = [];
  client = clientFor(ws.key);
});

describe("the typed client against the Worker", () => {
  it("iterates every page of a list, fetching each page as the iteration reaches it", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 45; i++) ids.add((await insertAccount(ws.id)).id);
    const seen: string[] = [];
    for await (const account of client.accounts.list({ status: "ACTIVE", limit: 20 })) seen.push(account.id);
    expect(new Set(seen)).toEqual(ids);
    expect(seen).toHaveLength(45);
    expect(requests.filter((r) => r.startsWith("GET /v1/accounts?"))).toHaveLength(3);

    // Stopping early fetches no further page.
    requests = [];
    for await (const _ of client.accounts.list({ limit: 20 })) break;
    expect(requests).toHaveLength(1);
  });

  it("answers the documented bodies: an account, an update, a delete", async () => {
    const inserted = await insertAccount(ws.id, { platform: "twitter" });
    const account = await client.accounts.get(inserted.id);
    expect(account).toMatchObject({ id: inserted.id, platform: "twitter", status: "active" });
    const updated = await client.accounts.update(inserted.id, {
      name: "Main X",
      metadata: { team: "growth" },
    });
    expect(updated).toMatchObject({ name: "Main X", metadata: { team: "growth" } });
    expect(await client.accounts.delete(inserted.id)).toMatchObject({ success: true });
  });

  it("throws one typed error with the code, message, details, request id and status", async () => {
    const missing = await client.accounts.get("acc_missing").catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(SwitchboardError);
    expect(missing).toMatchObject({ status: 404, code: "NOT_FOUND", message: "Account not found" });
    expect((missing as SwitchboardError).requestId).toMatch(/\S+/);

    const invalid = await client.accounts
      .connect("twitter", { callbackUrl: "not a url" } as never)
      .catch((err: unknown) => err);
    expect(invalid).toMatchObject({ status: 400, code: "INVALID_PARAM" });
    expect((invalid as SwitchboardError).details.map((d) => d.field)).toContain("callbackUrl");

    const unauthorized = await clientFor("swb_live_nope")
      .accounts.page()
      .catch((err: unknown) => err);
    expect(unauthorized).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
  });

  it("honours Retry-After on 429: waits as asked and sends again, up to its retries", async () => {
    const youtube = fakePlatform("youtube");
    let limited = 1;
    youtube.api("GET /youtube/v3/playlists", () =>
      limited-- > 0
        ? Response.json(
            { error: { code: 429, message: "Too many requests" } },
            { status: 429, headers: { "retry-after": "1" } },
          )
        : Response.json({ items: [{ id: "PL1", snippet: { title: "Launches" } }] }),
    );
    const account = await insertAccount(ws.id, { platform: "youtube", scopes: [] });
    const started = Date.now();
    const answer = await client.accounts.youtubePlaylists(account.id);
    expect(answer.playlists).toEqual([{ id: "PL1", title: "Launches" }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(requests).toHaveLength(2);

    // With no retries left, the 429 is the error, carrying how long to wait.
    limited = 1;
    const once = clientFor(ws.key, { maxRetries: 0 });
    const err = await once.accounts.youtubePlaylists(account.id).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429, code: "RATE_LIMITED", retryAfterSeconds: 1 });
  });

  it("verifies a delivery with the standardwebhooks package and answers its typed event", async () => {
    const receiver = new Receiver();
    const { webhook, secret } = await client.webhooks.create({ url: receiver.url });
    const result = await client.webhooks.test(webhook.id);
    expect(result).toMatchObject({ success: true });
    const [delivered] = receiver.requests;
    if (!delivered) throw new Error("no delivery");
    const event = verifyWebhook(secret, delivered.body, delivered.headers);
    expect(event.type).toBe("webhook.test");
    if (event.type === "webhook.test") expect(event.workspaceId).toBe(ws.id);

    // Rotated: both secrets verify during the overlap; a changed body verifies with neither.
    expect(
      verifyWebhook(["whsec_aW52YWxpZGludmFsaWRpbnZhbGlk", secret], delivered.body, delivered.headers),
    ).toEqual(event);
    expect(() => verifyWebhook(secret, `${delivered.body} `, delivered.headers)).toThrow(
      WebhookVerificationError,
    );
  });

  it("has a method for every public operation of the served document", async () => {
    const doc = (await call("/v1/openapi.json")).json as {
      paths: Record<string, Record<string, { operationId?: string; security?: unknown[] }>>;
      security?: unknown[];
    };
    const bearer = Object.values(doc.paths)
      .flatMap((ops) => Object.values(ops))
      .filter((op) => op.operationId && JSON.stringify(op.security ?? doc.security ?? []).includes("bearer"))
      .map((op) => op.operationId as string);
    const { accounts, webhooks, connectSessions, instagram, users } = client;
    const methods: Record<string, unknown> = {
      listAccounts: accounts.page,
      createAccount: accounts.create,
      getAccountHealth: accounts.health,
      getAccount: accounts.get,
      updateAccount: accounts.update,
      deleteAccount: accounts.delete,
      getAccountByPlatform: accounts.getByPlatform,
      deleteAccountByPlatform: accounts.deleteByPlatform,
      updateAccountCredentials: accounts.updateCredentials,
      testAccount: accounts.test,
      refreshAccount: accounts.refresh,
      connectAccount: accounts.connect,
      completeOAuthCallback: accounts.completeCallback,
      completeWhatsAppEmbeddedSignup: accounts.completeWhatsAppEmbeddedSignup,
      reconnectAccount: accounts.reconnect,
      listAccountPages: accounts.pages,
      selectAccountPage: accounts.selectPage,
      listAccountPlaylists: accounts.youtubePlaylists,
      startBackfill: accounts.startBackfill,
      getBackfillStatus: accounts.backfill,
      getOptimalTimes: accounts.optimalTimes,
      searchAudioTracks: instagram.searchAudio,
      storeGa4ClientId: users.storeGa4ClientId,
      createConnectSession: connectSessions.create,
      getConnectSession: connectSessions.get,
      createWebhook: webhooks.create,
      listWebhooks: webhooks.list,
      getWebhook: webhooks.get,
      updateWebhook: webhooks.update,
      deleteWebhook: webhooks.delete,
      rotateWebhookSecret: webhooks.rotateSecret,
      testWebhook: webhooks.test,
      listWebhookDeliveries: webhooks.deliveries,
      recoverWebhook: webhooks.recover,
    };
    expect(bearer.sort()).toEqual(Object.keys(methods).sort());
    for (const [operation, method] of Object.entries(methods))
      expect(typeof method, operation).toBe("function");
  });
});
