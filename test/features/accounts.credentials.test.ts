import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/lib/ids";
import { call, createWorkspace, type TestWorkspace } from "../helpers/api";
import { connectAccount } from "../helpers/connect";
import type { FakePlatform } from "../helpers/fake-provider";
import {
  type BlueskyAccount,
  blueskyFake,
  fakeFor,
  newTelegramBot,
  oauthFake,
  type TelegramBot,
  telegramFake,
  whatsappFake,
} from "../helpers/platform-fakes";
import { rowOf, secretsOf } from "../helpers/rows";

let ws: TestWorkspace;
let other: TestWorkspace;
let telegram: FakePlatform;
let whatsapp: FakePlatform;
let twitter: FakePlatform;
beforeAll(async () => {
  ws = await createWorkspace();
  other = await createWorkspace();
  telegram = fakeFor("telegram");
  whatsapp = fakeFor("whatsapp");
  twitter = oauthFake("twitter");
});

const update = (id: string, credentials: Record<string, unknown>, key = ws.key) =>
  call(`/v1/accounts/${id}/credentials`, { method: "POST", key, body: { credentials } });

/** The same bot with a token @BotFather revoked and reissued. */
function reissued(bot: TelegramBot): TelegramBot {
  const rotated = { ...bot, token: `${bot.id}:AA${crypto.randomUUID().replace(/-/g, "")}y`.slice(0, 46) };
  telegramFake(telegram, rotated);
  return rotated;
}

async function connectBot(workspace = ws) {
  const bot = newTelegramBot();
  telegramFake(telegram, bot);
  const res = await call("/v1/accounts", {
    method: "POST",
    key: workspace.key,
    body: { platform: "telegram", credentials: { botToken: bot.token, chatId: "@switchboard_news" } },
  });
  expect(res.status, res.text).toBe(201);
  return { bot, id: res.json.account.id as string };
}

const breakAccount = (id: string) =>
  env.DB.prepare(
    "UPDATE accounts SET status = 'error', last_error_code = 'access_refused', last_error_message = 'Unauthorized', last_error_at = ? WHERE id = ?",
  )
    .bind(Date.now(), id)
    .run();

const eventsAbout = async (id: string) =>
  (
    await env.DB.prepare(
      "SELECT type FROM events WHERE json_extract(payload, '$.data.account.id') = ? ORDER BY id",
    )
      .bind(id)
      .all<{ type: string }>()
  ).results.map((r) => r.type);

describe("POST /v1/accounts/:id/credentials", () => {
  it("stores a Telegram bot's new token once the Bot API accepts it, and the account is active again", async () => {
    const { bot, id } = await connectBot();
    await breakAccount(id);
    const rotated = reissued(bot);
    const res = await update(id, { botToken: rotated.token });
    expect(res.status, res.text).toBe(200);
    expect(res.json.account).toMatchObject({
      id,
      status: "active",
      error: null,
      connectionType: "credentials",
    });
    expect(await secretsOf(id)).toMatchObject({
      accessToken: rotated.token,
      extras: { chatId: "@switchboard_news" },
    });
    expect(await eventsAbout(id)).toEqual(["account.connected", "account.connected"]);
    expect(JSON.stringify(res.json)).not.toContain(rotated.token);
  });

  it("changes nothing when the platform refuses the credentials", async () => {
    const { bot, id } = await connectBot();
    await breakAccount(id);
    const before = await rowOf(id);
    const res = await update(id, { botToken: `${bot.id}:AA${"x".repeat(33)}` });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({
      code: "INVALID_PARAM",
      details: [{ field: "credentials", message: "Rejected by the platform" }],
    });
    expect(await rowOf(id)).toEqual(before);
    expect(await eventsAbout(id)).toEqual(["account.connected"]);
  });

  it("refuses credentials of another platform user", async () => {
    const { id } = await connectBot();
    const before = await rowOf(id);
    const stranger = newTelegramBot();
    telegramFake(telegram, stranger);
    const res = await update(id, { botToken: stranger.token });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({
      code: "INVALID_PARAM",
      message: "These credentials belong to another account on the platform",
    });
    expect(await rowOf(id)).toEqual(before);
  });

  it("answers PROVIDER_ERROR when the platform is down, and changes nothing", async () => {
    const { bot, id } = await connectBot();
    const before = await rowOf(id);
    const rotated = reissued(bot);
    telegram.failNext({ kind: "5xx" });
    const res = await update(id, { botToken: rotated.token });
    expect(res.status).toBe(502);
    expect(res.json.error.code).toBe("PROVIDER_ERROR");
    expect(await rowOf(id)).toEqual(before);
  });

  it("keeps a WhatsApp account's phone number id when only the token is new", async () => {
    const phone = {
      id: `1065${Math.floor(Math.random() * 1e9)}`,
      displayNumber: "+1 555 0100",
      verifiedName: "Shop",
    };
    whatsappFake(whatsapp, phone);
    const first = whatsapp.newGrant({ id: "system-user", username: "unused", name: "Shop" });
    const created = await call("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: {
        platform: "whatsapp",
        credentials: { accessToken: first.accessToken, phoneNumberId: phone.id },
      },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.json.account.id;
    const second = whatsapp.newGrant({ id: "system-user", username: "unused", name: "Shop" });
    const res = await update(id, { accessToken: second.accessToken });
    expect(res.status, res.text).toBe(200);
    expect(await secretsOf(id)).toMatchObject({
      accessToken: second.accessToken,
      extras: { phoneNumberId: phone.id },
    });
  });

  it("replaces a bring-your-own token, with its expiry", async () => {
    const person = { id: `byok-${crypto.randomUUID().slice(0, 8)}`, username: "byok", name: "BYOK" };
    const created = await call("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "twitter", credentials: { accessToken: twitter.newGrant(person).accessToken } },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.json.account.id;
    const fresh = twitter.newGrant(person).accessToken;
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const res = await update(id, { accessToken: fresh, expiresAt });
    expect(res.status, res.text).toBe(200);
    expect(res.json.account).toMatchObject({ connectionType: "byok", tokenExpiresAt: expiresAt });
    expect((await secretsOf(id)).accessToken).toBe(fresh);
  });

  it("signs a Bluesky account in with its DID and the new app password", async () => {
    const bluesky = fakeFor("bluesky");
    const tag = crypto.randomUUID().replace(/-/g, "").slice(0, 10);
    const account: BlueskyAccount = {
      did: `did:plc:${tag}z72i7hdynmk6`,
      handle: `sb${tag}.bsky.social`,
      appPassword: "abcd-efgh-ijkl-mnop",
      displayName: "Switchboard",
    };
    blueskyFake(bluesky, account);
    const created = await call("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: {
        platform: "bluesky",
        credentials: { identifier: account.handle, appPassword: account.appPassword },
      },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.json.account.id;
    const before = await secretsOf(id);
    account.appPassword = "qrst-uvwx-yzab-cdef";
    const res = await update(id, { appPassword: account.appPassword });
    expect(res.status, res.text).toBe(200);
    expect((await secretsOf(id)).refreshToken).not.toBe(before.refreshToken);
    expect(JSON.stringify(await secretsOf(id))).not.toContain(account.appPassword);
  });

  it("refuses an OAuth account: it is reconnected instead", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const connected = await connectAccount(ws, twitter, { id: `tw-${tag}`, username: tag, name: tag });
    const res = await update(connected.json.account.id, { accessToken: "at-whatever" });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: "INVALID_PARAM", details: [{ field: "id" }] });
    expect(res.json.error.message).toContain("reconnect");
  });

  it("answers another workspace's account exactly like a missing one", async () => {
    const theirs = await connectBot(other);
    const rotated = reissued(theirs.bot);
    const foreign = await update(theirs.id, { botToken: rotated.token });
    const missing = await update(newId("acc"), { botToken: rotated.token });
    expect(foreign.status).toBe(404);
    const strip = (json: { error: Record<string, unknown> }) => ({ ...json.error, requestId: undefined });
    expect(strip(foreign.json)).toEqual(strip(missing.json));
    expect((await secretsOf(theirs.id)).accessToken).toBe(theirs.bot.token);
  });

  it("refuses a body without a secret, or with an unknown field, with the error envelope", async () => {
    const { id } = await connectBot();
    for (const [body, field] of [
      [{}, "credentials"],
      [{ credentials: {} }, "credentials"],
      [{ credentials: { chatId: "@x" } }, "credentials"],
      [{ credentials: { botToken: "" } }, "credentials.botToken"],
      [{ credentials: { botToken: "1:AA" }, name: "x" }, "name"],
      [{ credentials: { botToken: "1:AA", password: "x" } }, "credentials.password"],
    ] as const) {
      const res = await call(`/v1/accounts/${id}/credentials`, { method: "POST", key: ws.key, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBe("INVALID_PARAM");
      expect(res.json.error.details[0].field, JSON.stringify(body)).toBe(field);
    }
  });
});
