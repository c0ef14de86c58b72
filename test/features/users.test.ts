import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { admin, api, call, createWorkspace, issueKey, ok, type TestWorkspace } from "../helpers/api";

/** Raw, for the bodies the schema refuses on purpose. */
async function post(body: unknown, key: string | undefined, raw?: string) {
  return call("/v1/users/me/ga4-client-id", {
    method: "POST",
    key,
    headers: { "content-type": "application/json" },
    ...(raw === undefined ? { body } : { rawBody: raw }),
  });
}

const store = (clientId: string, key: string) =>
  ok(api(key).POST("/v1/users/me/ga4-client-id", { body: { clientId } }));

/** The GA4 client id stored on the user the key belongs to. */
async function storedFor(keyId: string) {
  const row = await env.DB.prepare(
    "SELECT u.ga4_client_id AS id FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = ?",
  )
    .bind(keyId)
    .first<{ id: string | null }>();
  return row?.id ?? null;
}

let ws: TestWorkspace;

beforeEach(async () => {
  ws = await createWorkspace();
});

describe("POST /v1/users/me/ga4-client-id", () => {
  it("stores the client id on the key's user and answers ok", async () => {
    expect(await store("1234567890.9876543210", ws.key)).toEqual({ ok: true });
    expect(await storedFor(ws.keyId)).toBe("1234567890.9876543210");
    await store("1.2", ws.key);
    expect(await storedFor(ws.keyId)).toBe("1.2");
  });

  it("needs no scope: any valid key will do", async () => {
    const narrow = await issueKey(ws.id, ["webhooks:read"]);
    expect(await store("111.222", narrow.key)).toEqual({ ok: true });
    expect(await storedFor(narrow.id)).toBe("111.222");
  });

  it("answers 400 naming clientId when it is missing or not two numeric segments", async () => {
    for (const body of [
      {},
      { clientId: "" },
      { clientId: "abc" },
      { clientId: "123" },
      { clientId: "1.2.3" },
      { clientId: "12.34 " },
      { clientId: "-1.2" },
      { clientId: 1234.5678 },
      { clientId: `${"1".repeat(40)}.${"2".repeat(40)}` },
    ]) {
      const res = await post(body, ws.key);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBe("INVALID_PARAM");
      expect(res.json.error.details[0].field).toBe("clientId");
    }
    const extra = await post({ clientId: "1.2", other: 1 }, ws.key);
    expect(extra.status).toBe(400);
    const broken = await post(undefined, ws.key, "{not json");
    expect(broken.status).toBe(400);
    expect(await storedFor(ws.keyId)).toBeNull();
  });

  it("answers 401 without a key, with an unknown key, and with a revoked one", async () => {
    expect((await post({ clientId: "1.2" }, undefined)).status).toBe(401);
    const unknown = await post({ clientId: "1.2" }, `swb_live_${"x".repeat(32)}`);
    expect(unknown.status).toBe(401);
    expect(unknown.json.error.code).toBe("UNAUTHORIZED");
    const key = await issueKey(ws.id, ["accounts:read"]);
    const revoked = await admin(`/keys/${key.id}`, { method: "DELETE" });
    expect(revoked.status).toBeLessThan(300);
    expect((await post({ clientId: "1.2" }, key.key)).status).toBe(401);
  });
});
