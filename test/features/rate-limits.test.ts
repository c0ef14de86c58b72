import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { GRAPH_VERSION } from "../../src/platforms/meta";
import { call, callWith, createWorkspace, insertAccount, type TestWorkspace } from "../helpers/api";
import { fakePlatform } from "../helpers/fake-provider";

let ws: TestWorkspace;

beforeEach(async () => {
  ws = await createWorkspace();
});

const limited = (headers: Record<string, string> = {}) =>
  Response.json({ error: { code: 429, message: "Too many requests" } }, { status: 429, headers });

const statusOf = async (id: string) =>
  (await env.DB.prepare("SELECT status FROM accounts WHERE id = ?").bind(id).first<{ status: string }>())
    ?.status;

describe("a platform's rate limit passed through", () => {
  it("answers 429 RATE_LIMITED with the platform's Retry-After in seconds, and leaves the account alone", async () => {
    const youtube = fakePlatform("youtube");
    let answer = () => limited({ "retry-after": "30" });
    youtube.api("GET /youtube/v3/playlists", () => answer());
    const account = await insertAccount(ws.id, { platform: "youtube", scopes: [] });
    const path = `/v1/accounts/${account.id}/youtube/playlists`;

    const seconds = await call(path, { key: ws.key });
    expect(seconds.status).toBe(429);
    expect(seconds.json.error.code).toBe("RATE_LIMITED");
    expect(seconds.headers.get("retry-after")).toBe("30");

    // An HTTP date becomes the seconds left until it.
    answer = () => limited({ "retry-after": new Date(Date.now() + 90_000).toUTCString() });
    const date = await call(path, { key: ws.key });
    expect(date.status).toBe(429);
    expect(Number(date.headers.get("retry-after"))).toBeGreaterThanOrEqual(85);
    expect(Number(date.headers.get("retry-after"))).toBeLessThanOrEqual(90);

    // Nothing is invented when the platform gave none.
    answer = () => limited();
    const none = await call(path, { key: ws.key });
    expect(none.status).toBe(429);
    expect(none.headers.has("retry-after")).toBe(false);
    expect(await statusOf(account.id)).toBe("active");
  });

  it("GET …/pages passes a LinkedIn 429 through the same way", async () => {
    const linkedin = fakePlatform("linkedin");
    linkedin.api("GET /rest/organizationAcls", () => limited({ "retry-after": "5" }));
    const account = await insertAccount(ws.id, { platform: "linkedin", scopes: ["r_organization_admin"] });
    const res = await call(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(res.status).toBe(429);
    expect(res.json.error.code).toBe("RATE_LIMITED");
    expect(res.headers.get("retry-after")).toBe("5");
  });

  it("Instagram audio search answers a Graph 429 as RATE_LIMITED, not GRAPH_API_ERROR", async () => {
    const instagram = fakePlatform("instagram");
    instagram.api(`GET /${GRAPH_VERSION}/ig_audio`, () => limited({ "retry-after": "60" }));
    const account = await insertAccount(ws.id, {
      platform: "instagram",
      credentials: {
        accessToken: "fb-user-token-rate",
        extras: {
          oauthVersion: "fb_login",
          igUserId: "17841400000000009",
          pageId: "1",
          pageAccessToken: "p",
        },
      },
    });
    const res = await callWith(
      { ...env, INSTAGRAM_AUDIO_ENABLED: "true" } as Env,
      `/v1/instagram/audio/search?accountId=${account.id}`,
      { key: ws.key },
    );
    expect(res.status, res.text).toBe(429);
    expect(res.json.error.code).toBe("RATE_LIMITED");
    expect(res.headers.get("retry-after")).toBe("60");
  });
});

describe("the OpenAPI document", () => {
  it("declares Retry-After on every 429, and 429 only where a platform is called", async () => {
    const doc = (await call("/v1/openapi.json")).json;
    const limitedOps: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const [method, op] of Object.entries(item)) {
        const response = (op as { responses: Record<string, { headers?: Record<string, unknown> }> })
          .responses["429"];
        if (!response) continue;
        limitedOps.push(`${method.toUpperCase()} ${path}`);
        expect(response.headers?.["Retry-After"], `${method} ${path}`).toMatchObject({
          schema: { type: "integer", minimum: 0 },
        });
      }
    }
    expect(limitedOps.sort()).toEqual(
      [
        "POST /v1/accounts",
        "POST /v1/accounts/{id}/credentials",
        "POST /v1/accounts/{id}/refresh",
        "POST /v1/accounts/connect/{platform}",
        "POST /v1/accounts/callback/{platform}",
        "POST /v1/accounts/connect/whatsapp/embedded-signup",
        "POST /v1/accounts/{id}/reconnect",
        "GET /v1/accounts/{id}/pages",
        "POST /v1/accounts/{id}/select-page",
        "GET /v1/accounts/{id}/youtube/playlists",
        "GET /v1/instagram/audio/search",
      ].sort(),
    );
  });
});
