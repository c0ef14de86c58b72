import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { openAccountSecrets } from "../../src/features/accounts/accounts.repository";
import { getSecretBox } from "../../src/lib/config";
import { DAY, HOUR } from "../../src/lib/time";
import { api, call, createWorkspace, insertAccount, ok, type TestWorkspace } from "../helpers/api";
import { fakePlatform } from "../helpers/fake-provider";
import { rowOf } from "../helpers/rows";

let ws: TestWorkspace;
beforeAll(async () => {
  ws = await createWorkspace();
  // DELETE revokes at the platform first: X's revocation endpoint answers.
  fakePlatform("twitter");
});

describe("GET and PATCH /v1/accounts/:id", () => {
  it("renames and replaces metadata; null clears", async () => {
    const { id } = await insertAccount(ws.id, { metadata: { team: "growth", keep: 1 } });
    const client = api(ws.key);
    const path = { path: { id } };
    const renamed = await ok(
      client.PATCH("/v1/accounts/{id}", { params: path, body: { name: "Brand main" } }),
    );
    expect(renamed).toMatchObject({ name: "Brand main", metadata: { team: "growth", keep: 1 } });
    const replaced = await ok(
      client.PATCH("/v1/accounts/{id}", {
        params: path,
        body: { metadata: { tags: ["a", "b"], nested: { ok: true } } },
      }),
    );
    expect(replaced.metadata).toEqual({ tags: ["a", "b"], nested: { ok: true } });
    expect(Date.parse(replaced.updatedAt)).toBeGreaterThanOrEqual(Date.parse(renamed.updatedAt));
    const cleared = await ok(
      client.PATCH("/v1/accounts/{id}", { params: path, body: { name: null, metadata: null } }),
    );
    expect(cleared).toMatchObject({ name: null, metadata: null });
    expect(await ok(client.GET("/v1/accounts/{id}", { params: path }))).toEqual(cleared);
  });
});

describe("DELETE /v1/accounts/:id", () => {
  it("wipes credentials, archives the account, keeps the row, and is idempotent", async () => {
    const { id } = await insertAccount(ws.id, {
      tokenExpiresAt: new Date(Date.now() + HOUR).toISOString(),
      nextRefreshAt: new Date(Date.now() + HOUR / 2).toISOString(),
      credentials: { accessToken: "at", refreshToken: "rt", extras: { pageToken: "pt" } },
    });
    const client = api(ws.key);
    const path = { path: { id } };
    expect(await ok(client.DELETE("/v1/accounts/{id}", { params: path }))).toEqual({ success: true });
    const row = await rowOf(id);
    expect(row).toMatchObject({
      status: "disconnected",
      access_token_enc: null,
      refresh_token_enc: null,
      extras_enc: null,
      key_version: null,
      next_refresh_at: null,
      token_expires_at: null,
    });
    const disconnectedAt = row?.disconnected_at;
    expect(disconnectedAt).toBeTypeOf("number");

    expect(await ok(client.DELETE("/v1/accounts/{id}", { params: path }))).toEqual({ success: true });
    expect((await rowOf(id))?.disconnected_at).toBe(disconnectedAt);

    const shown = await ok(client.GET("/v1/accounts/{id}", { params: path }));
    expect(shown).toMatchObject({ status: "disconnected", tokenExpiresAt: null });
    expect((await ok(client.GET("/v1/accounts"))).data.map((a) => a.id)).not.toContain(id);
    const archived = await ok(client.GET("/v1/accounts", { params: { query: { status: "DISCONNECTED" } } }));
    expect(archived.data.map((a) => a.id)).toContain(id);
  });
});

describe("GET /v1/accounts/health", () => {
  it("derives health, token validity, reconnect need and advice from stored fields", async () => {
    const hw = await createWorkspace();
    const now = Date.now();
    const at = (ms: number) => new Date(now + ms).toISOString();
    const made = {
      healthy: await insertAccount(hw.id, {
        tokenExpiresAt: at(2 * HOUR),
        nextRefreshAt: at(HOUR),
        scopes: ["tweet.read"],
      }),
      noExpiry: await insertAccount(hw.id, { platform: "mastodon" }),
      expiringSoon: await insertAccount(hw.id, {
        platform: "linkedin",
        tokenExpiresAt: at(3 * DAY - HOUR),
        nextRefreshAt: null,
      }),
      expiredUnrefreshable: await insertAccount(hw.id, { platform: "threads", tokenExpiresAt: at(-HOUR) }),
      expiredPendingRefresh: await insertAccount(hw.id, {
        tokenExpiresAt: at(-60_000),
        nextRefreshAt: at(-60_000),
      }),
      broken: await insertAccount(hw.id, { status: "expired", tokenExpiresAt: at(-DAY) }),
      suspended: await insertAccount(hw.id, { status: "suspended" }),
      archived: await insertAccount(hw.id, { status: "disconnected" }),
    };
    const client = api(hw.key);
    const health = (query: { platform?: string; cursor?: string; limit?: number } = {}) =>
      ok(client.GET("/v1/accounts/health", { params: { query } }));
    const report = await health();
    const byId = new Map(report.accounts.map((a) => [a.accountId, a]));
    const get = (name: keyof typeof made) => byId.get(made[name].id);

    expect(get("healthy")).toMatchObject({
      health: "healthy",
      tokenValid: true,
      needsReconnect: false,
      permissions: ["tweet.read"],
      recommendations: [],
    });
    expect(get("noExpiry")).toMatchObject({ health: "healthy", tokenValid: true, tokenExpiresAt: null });
    expect(get("expiringSoon")).toMatchObject({
      health: "warning",
      tokenValid: true,
      needsReconnect: false,
      recommendations: ["Token expires in 3 days. Consider reconnecting."],
    });
    expect(get("expiredUnrefreshable")).toMatchObject({
      health: "error",
      tokenValid: false,
      needsReconnect: true,
    });
    expect(get("expiredPendingRefresh")).toMatchObject({
      health: "warning",
      tokenValid: false,
      needsReconnect: false,
    });
    expect(get("broken")).toMatchObject({
      health: "error",
      tokenValid: false,
      needsReconnect: true,
      status: "expired",
    });
    expect(get("suspended")).toMatchObject({ health: "error", needsReconnect: false });
    expect(byId.has(made.archived.id)).toBe(false);
    expect(report.summary).toEqual({ total: 7, healthy: 2, warning: 2, error: 3 });

    // The summary covers the workspace, not just the page.
    const page = await health({ limit: 2 });
    expect(page.accounts).toHaveLength(2);
    expect(page.summary).toEqual(report.summary);
    expect(page.pagination.has_more).toBe(true);
    const rest = await health({ limit: 10, cursor: page.pagination.next_cursor ?? undefined });
    expect(rest.accounts).toHaveLength(5);
    const linkedin = await health({ platform: "LINKEDIN" });
    expect(linkedin.summary).toEqual({ total: 1, healthy: 0, warning: 1, error: 0 });
  });
});

describe("secrets at rest and in responses", () => {
  it("encrypts every token field under the current key and never answers one", async () => {
    const secrets = {
      accessToken: "AT-4f9c1e-plain",
      refreshToken: "RT-77ab02-plain",
      extras: { pageAccessToken: "PAT-19x" },
    };
    const { id } = await insertAccount(ws.id, { credentials: secrets });
    const row = await rowOf(id);
    const stored = JSON.stringify(row);
    for (const plain of ["AT-4f9c1e", "RT-77ab02", "PAT-19x"]) expect(stored).not.toContain(plain);
    expect(row?.key_version).toBe("k2");
    expect(String(row?.access_token_enc)).toMatch(/^k2\./);

    const box = await getSecretBox(env);
    const sealed = {
      id,
      accessTokenEnc: row?.access_token_enc as string,
      refreshTokenEnc: row?.refresh_token_enc as string,
      extrasEnc: row?.extras_enc as string,
    };
    const opened = await openAccountSecrets(box, sealed);
    expect(opened).toEqual(secrets);
    // A ciphertext moved to another row does not open there.
    const other = await insertAccount(ws.id);
    await expect(openAccountSecrets(box, { ...sealed, id: other.id })).rejects.toThrow();

    const ciphertexts = [sealed.accessTokenEnc, sealed.refreshTokenEnc, sealed.extrasEnc];
    const responses = [
      await call(`/v1/accounts/${id}`, { key: ws.key }),
      await call("/v1/accounts", { key: ws.key }),
      await call("/v1/accounts/health", { key: ws.key }),
      await call(`/v1/accounts/${id}`, { method: "PATCH", key: ws.key, body: { name: "n" } }),
      await call(`/v1/accounts/${id}`, { method: "DELETE", key: ws.key }),
    ];
    for (const res of responses) {
      for (const needle of ["AT-4f9c1e", "RT-77ab02", "PAT-19x", ...ciphertexts, ws.key]) {
        expect(res.text).not.toContain(needle);
      }
    }
  });
});
