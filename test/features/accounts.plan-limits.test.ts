import { beforeAll, describe, expect, it } from "vitest";
import { admin, call, createWorkspace, insertAccount, type TestWorkspace } from "../helpers/api";
import { connectAccount } from "../helpers/connect";
import type { FakePlatform } from "../helpers/fake-provider";
import { fakeFor, newTelegramBot, oauthFake, telegramFake } from "../helpers/platform-fakes";

let twitter: FakePlatform;
let linkedin: FakePlatform;
let telegram: FakePlatform;
beforeAll(() => {
  twitter = oauthFake("twitter");
  linkedin = oauthFake("linkedin");
  telegram = fakeFor("telegram");
});

const patchWorkspace = (ws: TestWorkspace, body: Record<string, unknown>) =>
  admin(`/workspaces/${ws.id}`, { method: "PATCH", body });

const person = () => {
  const tag = crypto.randomUUID().slice(0, 8);
  return { id: `u-${tag}`, username: `u_${tag}`, name: tag };
};

function connectBot(ws: TestWorkspace) {
  const bot = newTelegramBot();
  telegramFake(telegram, bot);
  return call("/v1/accounts", {
    method: "POST",
    key: ws.key,
    body: { platform: "telegram", credentials: { botToken: bot.token } },
  });
}

describe("per-platform account limits", () => {
  it("Pro holds at most 10 X accounts; the refusal names the platform, and other platforms still connect", async () => {
    const ws = await createWorkspace({ plan: "pro" });
    const shown = (await admin(`/workspaces/${ws.id}`)).json;
    expect(shown).toMatchObject({
      accountLimit: 50,
      platformAccountLimits: { twitter: 10 },
      platformAccountLimitsOverride: null,
    });
    for (let i = 0; i < 9; i++) await insertAccount(ws.id, { platform: "twitter" });
    // A disconnected account does not count.
    await insertAccount(ws.id, { platform: "twitter", status: "disconnected" });
    expect((await connectAccount(ws, twitter, person())).status).toBe(200);
    const full = await connectAccount(ws, twitter, person());
    expect(full.status).toBe(402);
    expect(full.json.error).toMatchObject({
      code: "PLAN_LIMIT_EXCEEDED",
      message: "This workspace has reached its limit of 10 connected twitter accounts on the pro plan",
    });
    expect(
      (await call("/v1/accounts?platform=twitter&includeTotal=true", { key: ws.key })).json.pagination.total,
    ).toBe(10);
    expect((await connectAccount(ws, linkedin, person())).status).toBe(200);
  });

  it("an admin sets them per workspace: limits a platform, lifts the plan's, and clears the override", async () => {
    const ws = await createWorkspace({ plan: "pro" });
    const set = await patchWorkspace(ws, { platformAccountLimits: { twitter: null, telegram: 1 } });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({
      platformAccountLimits: { telegram: 1 },
      platformAccountLimitsOverride: { twitter: null, telegram: 1 },
    });
    expect(set.json.platformAccountLimits).not.toHaveProperty("twitter");
    for (let i = 0; i < 10; i++) await insertAccount(ws.id, { platform: "twitter" });
    expect((await connectAccount(ws, twitter, person())).status).toBe(200);

    expect((await connectBot(ws)).status).toBe(201);
    const second = await connectBot(ws);
    expect(second.status).toBe(402);
    expect(second.json.error).toMatchObject({
      code: "PLAN_LIMIT_EXCEEDED",
      message: "This workspace has reached its limit of 1 connected telegram accounts on the pro plan",
    });
    // Nothing of the refused connection was stored.
    expect((await call("/v1/accounts?platform=telegram", { key: ws.key })).json.data).toHaveLength(1);

    const cleared = await patchWorkspace(ws, { platformAccountLimits: null });
    expect(cleared.json).toMatchObject({
      platformAccountLimits: { twitter: 10 },
      platformAccountLimitsOverride: null,
    });
    expect((await connectBot(ws)).status).toBe(201);
    expect((await connectAccount(ws, twitter, person())).status).toBe(402);
  });

  it("is set at creation, and the workspace's total limit still applies", async () => {
    const created = await admin("/workspaces", {
      method: "POST",
      body: { name: "Limited", plan: "free", platformAccountLimits: { linkedin: 0 } },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ accountLimit: 5, platformAccountLimits: { linkedin: 0 } });
  });

  it("bring-your-own-token connects are counted too; the same user again needs no room", async () => {
    const ws = await createWorkspace();
    await patchWorkspace(ws, { platformAccountLimits: { twitter: 1 } });
    const byok = (profile = person()) =>
      call("/v1/accounts", {
        method: "POST",
        key: ws.key,
        body: { platform: "twitter", credentials: { accessToken: twitter.newGrant(profile).accessToken } },
      });
    const alice = person();
    expect((await byok(alice)).status).toBe(201);
    const refused = await byok();
    expect(refused.status).toBe(402);
    expect(refused.json.error.message).toContain("1 connected twitter accounts");
    expect((await connectAccount(ws, twitter, person())).status).toBe(402);
    expect((await byok(alice)).status).toBe(200);
  });

  it("reconnecting an archived account needs room, as a new one does", async () => {
    const ws = await createWorkspace();
    await patchWorkspace(ws, { platformAccountLimits: { twitter: 1 } });
    const alice = person();
    const first = await connectAccount(ws, twitter, alice);
    expect(
      (await call(`/v1/accounts/${first.json.account.id}`, { method: "DELETE", key: ws.key })).status,
    ).toBe(200);
    expect((await connectAccount(ws, twitter, person())).status).toBe(200);
    const back = await connectAccount(ws, twitter, alice);
    expect(back.status).toBe(402);
    expect(back.json.error.message).toContain("1 connected twitter accounts");
    expect((await call(`/v1/accounts/${first.json.account.id}`, { key: ws.key })).json.status).toBe(
      "disconnected",
    );
  });

  it("refuses an unknown platform or a bad limit with the error envelope", async () => {
    const ws = await createWorkspace();
    for (const [limits, field] of [
      [{ myspace: 3 }, "platformAccountLimits.myspace"],
      [{ twitter: -1 }, "platformAccountLimits.twitter"],
      [{ twitter: 1.5 }, "platformAccountLimits.twitter"],
      [[1], "platformAccountLimits"],
    ] as const) {
      const res = await patchWorkspace(ws, { platformAccountLimits: limits });
      expect(res.status, JSON.stringify(limits)).toBe(400);
      expect(res.json.error.code).toBe("INVALID_PARAM");
      expect(res.json.error.details[0].field).toBe(field);
    }
  });
});
