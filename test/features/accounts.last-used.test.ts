import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { MINUTE } from "../../src/lib/time";
import { call, createWorkspace, type TestWorkspace } from "../helpers/api";
import { connectAccount } from "../helpers/connect";
import type { FakePlatform } from "../helpers/fake-provider";
import { oauthFake } from "../helpers/platform-fakes";
import { rowOf } from "../helpers/rows";

let ws: TestWorkspace;
let twitter: FakePlatform;
beforeAll(async () => {
  ws = await createWorkspace();
  twitter = oauthFake("twitter");
});

async function connected() {
  const tag = crypto.randomUUID().slice(0, 8);
  const res = await connectAccount(ws, twitter, { id: `tw-${tag}`, username: `u_${tag}`, name: tag });
  expect(res.status).toBe(200);
  return res.json.account.id as string;
}

const setLastUsed = (id: string, at: number | null) =>
  env.DB.prepare("UPDATE accounts SET last_used_at = ? WHERE id = ?").bind(at, id).run();

describe("lastUsedAt", () => {
  it("is null until the API uses the token for the customer, then set by a test call", async () => {
    const id = await connected();
    expect((await call(`/v1/accounts/${id}`, { key: ws.key })).json.lastUsedAt).toBeNull();
    const before = Date.now();
    const tested = await call(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect(tested.json.success).toBe(true);
    const shown = (await call(`/v1/accounts/${id}`, { key: ws.key })).json;
    expect(Date.parse(shown.lastUsedAt)).toBeGreaterThanOrEqual(before);
    expect(shown.lastUsedAt).toBe(new Date((await rowOf(id))?.last_used_at as number).toISOString());
  });

  it("writes at most once a minute: a use within the minute keeps the recorded time", async () => {
    const id = await connected();
    const recent = Date.now() - 30_000;
    await setLastUsed(id, recent);
    await call(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect((await rowOf(id))?.last_used_at).toBe(recent);

    const old = Date.now() - 2 * MINUTE;
    await setLastUsed(id, old);
    const before = Date.now();
    await call(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect((await rowOf(id))?.last_used_at).toBeGreaterThanOrEqual(before);
  });

  it("is not set by our own upkeep: a refresh, a list, a get, a disconnect's revoke", async () => {
    const id = await connected();
    const refreshed = await call(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key });
    expect(refreshed.json.refreshed).toBe(true);
    await call("/v1/accounts", { key: ws.key });
    await call(`/v1/accounts/${id}`, { key: ws.key });
    await call("/v1/accounts/health", { key: ws.key });
    const revocations = twitter.revocations;
    expect((await call(`/v1/accounts/${id}`, { method: "DELETE", key: ws.key })).status).toBe(200);
    expect(twitter.revocations).toBeGreaterThan(revocations);
    expect((await rowOf(id))?.last_used_at).toBeNull();
  });

  it("does not move an account's updatedAt", async () => {
    const id = await connected();
    const { updated_at } = (await rowOf(id)) as { updated_at: number };
    await call(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect((await rowOf(id))?.updated_at).toBe(updated_at);
  });
});
