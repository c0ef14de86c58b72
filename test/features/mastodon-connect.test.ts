import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { call, createWorkspace, type TestWorkspace } from "../helpers/api";
import { CALLBACK } from "../helpers/connect";
import { type FakePlatform, fakePlatform } from "../helpers/fake-provider";
import { mastodonFake } from "../helpers/platform-fakes";

let fake: FakePlatform;
let ws: TestWorkspace;
let registrations = 0;

beforeEach(async () => {
  registrations = 0;
  fake = fakePlatform("mastodon");
  mastodonFake(fake, {
    app: () => {
      registrations += 1;
      return { clientId: `app-${registrations}`, clientSecret: `app-secret-${registrations}` };
    },
  });
  ws = await createWorkspace();
});

describe("Mastodon: one app per instance", () => {
  it("registers on first connect, reuses the app, stores the instance, and keeps the app secret encrypted", async () => {
    const start = () =>
      call("/v1/accounts/connect/mastodon", {
        method: "POST",
        key: ws.key,
        body: { callbackUrl: CALLBACK, instance: "Mastodon.Social" },
      });
    const first = await start();
    expect(first.status, first.text).toBe(200);
    const url = new URL(first.json.authorizationUrl);
    expect(url.searchParams.get("client_id")).toBe("app-1");
    expect((await start()).status).toBe(200);
    expect(registrations).toBe(1);
    const app = await env.DB.prepare("SELECT * FROM platform_apps WHERE platform = 'mastodon'").first<
      Record<string, string>
    >();
    expect(app?.instance).toBe("https://mastodon.social");
    expect(JSON.stringify(app)).not.toContain("app-secret-1");

    const code = fake.issueCode(
      { id: "55", username: "ada", name: "Ada" },
      { challenge: url.searchParams.get("code_challenge") ?? undefined },
    );
    const done = await call("/v1/accounts/callback/mastodon", {
      method: "POST",
      key: ws.key,
      body: { code, state: first.json.state },
    });
    expect(done.status, done.text).toBe(200);
    expect(done.json.account).toMatchObject({
      platformUserId: "55",
      username: "@ada@mastodon.social",
      tokenExpiresAt: null,
    });
    const form = new URLSearchParams(fake.calls.find((c) => c.path === "/token")?.body);
    expect(form.get("client_id")).toBe("app-1");
    expect(form.get("client_secret")).toBe("app-secret-1");

    const test = await call(`/v1/accounts/${done.json.account.id}/test`, { method: "POST", key: ws.key });
    expect(test.json.success).toBe(true);
    const refresh = await call(`/v1/accounts/${done.json.account.id}/refresh`, {
      method: "POST",
      key: ws.key,
    });
    expect(refresh.json).toMatchObject({ success: true, refreshed: false });
    await call(`/v1/accounts/${done.json.account.id}`, { method: "DELETE", key: ws.key });
    expect(fake.revocations).toBe(1);
  });

  it("requires a valid instance, and refuses one for other platforms", async () => {
    for (const [platform, body] of [
      ["mastodon", {}],
      ["mastodon", { instance: "https://evil.example/path" }],
      ["mastodon", { instance: "127.0.0.1" }],
      ["twitter", { instance: "mastodon.social" }],
    ] as const) {
      const res = await call(`/v1/accounts/connect/${platform}`, {
        method: "POST",
        key: ws.key,
        body: { callbackUrl: CALLBACK, ...body },
      });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.details[0].field).toBe("instance");
    }
    expect(registrations).toBe(0);
  });
});
