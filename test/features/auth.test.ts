import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { components } from "../../client/src/openapi";
import { createDb } from "../../src/db/client";
import { authenticate, KEY_CACHE_TTL_MS } from "../../src/features/auth/auth.middleware";
import { SCOPES, type Scope } from "../../src/lib/domain";
import { ApiError } from "../../src/lib/errors";
import { admin, adminApi, call, createWorkspace, insertAccount, issueKey, ok } from "../helpers/api";
import { fakePlatform } from "../helpers/fake-provider";

// A DELETE below revokes at the platform first: X's revocation endpoint answers.
beforeAll(() => {
  fakePlatform("twitter");
});

describe("API keys", () => {
  it.each([
    ["no header", undefined],
    ["not bearer", "Basic abc"],
    ["malformed key", "Bearer hello"],
    ["unknown key", `Bearer swb_live_${"A".repeat(43)}`],
    ["admin token", "Bearer test-admin-token"],
  ])("%s → 401", async (_name, header) => {
    const res = await call("/v1/accounts", { headers: header ? { authorization: header } : {} });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("UNAUTHORIZED");
  });

  it("are shown once, stored only as SHA-256, and listed without the key", async () => {
    const ws = await createWorkspace();
    expect(ws.key).toMatch(/^swb_live_[A-Za-z0-9_-]{43}$/);
    const rows = await env.DB.prepare("SELECT * FROM api_keys WHERE workspace_id = ?").bind(ws.id).all();
    expect(JSON.stringify(rows.results)).not.toContain(ws.key.slice(9));
    const listed = await ok(
      adminApi().GET("/v1/admin/workspaces/{id}/keys", { params: { path: { id: ws.id } } }),
    );
    expect(listed.data[0]).toMatchObject({ prefix: "swb_live_", lastFour: ws.key.slice(-4) });
    expect(JSON.stringify(listed)).not.toContain(ws.key.slice(9, 30));
  });

  it("sandbox workspaces get swb_test_ keys", async () => {
    const ws = await createWorkspace({ sandbox: true });
    expect(ws.key).toMatch(/^swb_test_/);
    expect((await call("/v1/accounts", { key: ws.key })).status).toBe(200);
  });

  it("a revoked key stops working at once on the isolate that revoked it", async () => {
    const ws = await createWorkspace();
    expect((await call("/v1/accounts", { key: ws.key })).status).toBe(200);
    const revoke = () => ok(adminApi().DELETE("/v1/admin/keys/{id}", { params: { path: { id: ws.keyId } } }));
    const revoked = await revoke();
    expect(revoked.apiKey.revokedAt).toBeTruthy();
    expect((await call("/v1/accounts", { key: ws.key })).status).toBe(401);
    // Idempotent, and keeps the first revocation time.
    const again = await revoke();
    expect(again.apiKey.revokedAt).toBe(revoked.apiKey.revokedAt);
    expect((await admin("/keys/key_unknown", { method: "DELETE" })).status).toBe(404);
  });

  it("a key revoked elsewhere stops working within the cache bound", async () => {
    const ws = await createWorkspace();
    const db = createDb(env.DB);
    const header = `Bearer ${ws.key}`;
    const t0 = 1_900_000_000_000;
    await authenticate(db, header, t0);
    // Revoked behind this isolate's back, as another isolate would.
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(t0, ws.keyId).run();
    await expect(authenticate(db, header, t0 + KEY_CACHE_TTL_MS - 1)).resolves.toMatchObject({
      keyId: ws.keyId,
    });
    await expect(authenticate(db, header, t0 + KEY_CACHE_TTL_MS)).rejects.toBeInstanceOf(ApiError);
    expect(KEY_CACHE_TTL_MS).toBeLessThanOrEqual(30_000);
  });

  it("an expired key is refused", async () => {
    const ws = await createWorkspace();
    const expiresAt = new Date(Date.now() + 60_000).toISOString();
    const issued = await ok(
      adminApi().POST("/v1/admin/workspaces/{id}/keys", {
        params: { path: { id: ws.id } },
        body: { name: "short", scopes: ["accounts:read"], expiresAt },
      }),
      201,
    );
    const header = `Bearer ${issued.key}`;
    const db = createDb(env.DB);
    await expect(authenticate(db, header, Date.now())).resolves.toBeTruthy();
    await expect(authenticate(db, header, Date.parse(expiresAt))).rejects.toThrow(/expired/);
  });
});

describe("scopes are default-deny", () => {
  it("each route needs its own scope, and write does not imply read", async () => {
    const ws = await createWorkspace({ scopes: ["webhooks:read"] });
    const account = await insertAccount(ws.id);
    const writer = await issueKey(ws.id, ["accounts:write"]);
    const reader = await issueKey(ws.id, ["accounts:read"]);

    const reads = ["/v1/accounts", "/v1/accounts/health", `/v1/accounts/${account.id}`];
    for (const path of reads) {
      for (const key of [ws.key, writer.key]) {
        const res = await call(path, { key });
        expect(res.status, path).toBe(403);
        expect(res.json.error).toEqual({
          code: "INSUFFICIENT_SCOPE",
          message: "This API key lacks the accounts:read scope",
          requestId: res.headers.get("x-request-id"),
        });
      }
      expect((await call(path, { key: reader.key })).status).toBe(200);
    }
    const writes = [
      { method: "PATCH", path: `/v1/accounts/${account.id}`, body: { name: "n" } },
      { method: "DELETE", path: `/v1/accounts/${account.id}` },
    ];
    for (const { method, path, body } of writes) {
      expect((await call(path, { method, body, key: reader.key })).status).toBe(403);
      expect((await call(path, { method, body, key: writer.key })).status).toBe(200);
    }
  });
});

// biome-ignore lint/suspicious/noExplicitAny: an error envelope as answered
const withoutRequestId = (json: any) => ({ ...json, error: { ...json.error, requestId: undefined } });

interface Operation {
  name: string;
  method: string;
  path: string;
  security?: Record<string, string[]>[];
}

/** Every operation the served OpenAPI document lists, with a concrete path. */
async function documentedOperations(): Promise<Operation[]> {
  const doc = (await call("/v1/openapi.json")).json;
  return Object.entries<Record<string, { security?: Operation["security"] }>>(doc.paths).flatMap(
    ([template, item]) =>
      Object.entries(item).map(([method, op]) => ({
        name: `${method.toUpperCase()} ${template}`,
        method: method.toUpperCase(),
        // Well-formed ids of nothing: auth and scope are checked before anything is looked up.
        path: template.replace("{id}", "acc_01m80hkfkympdk65m0kqm0xmm2").replace("{platform}", "twitter"),
        security: op.security,
      })),
  );
}

describe("every operation of the OpenAPI document", () => {
  it("declares its security, and is refused without it: 401 without a key, 403 without its scope", async () => {
    const operations = await documentedOperations();
    expect(operations.length).toBeGreaterThan(30);
    const ws = await createWorkspace();
    const lacking = new Map<Scope, string>();
    const only = new Map<Scope, string>();
    for (const scope of SCOPES) {
      lacking.set(
        scope,
        (
          await issueKey(
            ws.id,
            SCOPES.filter((s) => s !== scope),
          )
        ).key,
      );
      only.set(scope, (await issueKey(ws.id, [scope])).key);
    }
    const unscoped: string[] = [];
    let refusedForScope = 0;

    for (const op of operations) {
      const send = (key?: string) => call(op.path, { method: op.method, key });
      expect(op.security, `${op.name} declares no security`).toBeDefined();
      const schemes = (op.security ?? []).flatMap((requirement) => Object.keys(requirement));
      if (schemes.length === 0) {
        const res = await send();
        expect([401, 403], `${op.name} is public`).not.toContain(res.status);
        continue;
      }
      if (schemes.includes("admin")) {
        for (const key of [undefined, ws.key]) {
          const res = await send(key);
          expect(res.status, `${op.name} with ${key ? "an API key" : "nothing"}`).toBe(401);
          expect(res.json.error.code).toBe("UNAUTHORIZED");
        }
        continue;
      }
      expect(schemes, op.name).toEqual(["bearer"]);
      const none = await send();
      expect(none.status, `${op.name} without a key`).toBe(401);
      expect(none.json.error).toMatchObject({
        code: "UNAUTHORIZED",
        requestId: none.headers.get("x-request-id"),
      });

      const scopes = (op.security ?? []).flatMap((requirement) => requirement.bearer ?? []) as Scope[];
      if (scopes.length === 0) unscoped.push(op.name);
      for (const scope of scopes) {
        expect(SCOPES, op.name).toContain(scope);
        const refused = await send(lacking.get(scope));
        expect(refused.status, `${op.name} without ${scope}`).toBe(403);
        expect(refused.json.error).toEqual({
          code: "INSUFFICIENT_SCOPE",
          message: `This API key lacks the ${scope} scope`,
          requestId: refused.headers.get("x-request-id"),
        });
        refusedForScope += 1;
        // The scope it declares is the one it checks: holding only that one gets past the check.
        const allowed = await send(only.get(scope));
        expect(allowed.json?.error?.code, `${op.name} with only ${scope}`).not.toBe("INSUFFICIENT_SCOPE");
        expect(allowed.status, `${op.name} with only ${scope}`).not.toBe(401);
      }
    }
    // Any valid key may call these; every other API-key operation names its scope.
    expect(unscoped).toEqual(["POST /v1/users/me/ga4-client-id"]);
    expect(refusedForScope).toBeGreaterThan(25);
  });
});

describe("workspace isolation", () => {
  it("another workspace's account answers exactly like a missing one", async () => {
    const a = await createWorkspace();
    const b = await createWorkspace();
    const theirs = await insertAccount(b.id, { name: "theirs" });
    const missing = "acc_01m80hkfkympdk65m0kqm0xmm2";

    const requests = [
      { method: "GET" },
      { method: "PATCH", body: { name: "mine now" } },
      { method: "DELETE" },
    ];
    for (const request of requests) {
      const cross = await call(`/v1/accounts/${theirs.id}`, { ...request, key: a.key });
      const absent = await call(`/v1/accounts/${missing}`, { ...request, key: a.key });
      expect(cross.status).toBe(404);
      // Each answer names its own request; all else is identical.
      expect(cross.json.error.requestId).toBe(cross.headers.get("x-request-id"));
      expect(withoutRequestId(cross.json)).toEqual(withoutRequestId(absent.json));
    }
    const list = await call("/v1/accounts?includeArchived=true", { key: a.key });
    expect(list.json.data).toEqual([]);
    const health = await call("/v1/accounts/health", { key: a.key });
    expect(health.json.summary.total).toBe(0);

    const untouched = await call(`/v1/accounts/${theirs.id}`, { key: b.key });
    expect(untouched.json).toMatchObject({ name: "theirs", status: "active" });
  });
});

describe("admin API", () => {
  it("requires the admin token", async () => {
    for (const authorization of [undefined, "Bearer wrong", "Bearer test-admin-token-and-more"]) {
      const res = await call("/v1/admin/workspaces", {
        method: "POST",
        body: { name: "x" },
        headers: authorization ? { authorization } : {},
      });
      expect(res.status).toBe(401);
    }
  });

  it("creates and updates workspaces with plans, limits, platforms and callback domains", async () => {
    const client = adminApi();
    const created = await ok(
      client.POST("/v1/admin/workspaces", {
        body: {
          name: "Acme",
          allowedCallbackDomains: ["App.Acme.com", "app.acme.com", "*.acme.dev", "localhost"],
        },
      }),
      201,
    );
    expect(created).toMatchObject({
      name: "Acme",
      plan: "free",
      accountLimit: 5,
      accountLimitOverride: null,
      allowedPlatforms: null,
      allowedCallbackDomains: ["app.acme.com", "*.acme.dev", "localhost"],
      sandbox: false,
    });
    expect(created.ownerUserId).toMatch(/^usr_/);
    const params = { path: { id: created.id } };
    const patch = (body: components["schemas"]["UpdateWorkspace"]) =>
      ok(client.PATCH("/v1/admin/workspaces/{id}", { params, body }));
    const pro = await patch({ plan: "pro" });
    expect(pro.accountLimit).toBe(50);
    const custom = await patch({ accountLimit: 7, allowedPlatforms: ["twitter", "linkedin"] });
    expect(custom).toMatchObject({ plan: "pro", accountLimit: 7, accountLimitOverride: 7 });
    const enterprise = await patch({ plan: "enterprise", accountLimit: null });
    expect(enterprise.accountLimit).toBeNull();
    expect(await ok(client.GET("/v1/admin/workspaces/{id}", { params }))).toEqual(enterprise);
    expect((await admin("/workspaces/ws_unknown")).status).toBe(404);
    expect((await admin("/workspaces/ws_unknown", { method: "PATCH", body: { name: "n" } })).status).toBe(
      404,
    );
  });
});
