import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../src/lib/errors";
import { ProviderError } from "../../src/platforms/http";
import { isBotToken, telegram } from "../../src/platforms/telegram";
import type { FakePlatform } from "../helpers/fake-provider";
import { grantOf, platformTestContext } from "../helpers/platform-context";
import { fakeFor, telegramFake } from "../helpers/platform-fakes";

const TOKEN = "7412589630:AAHk3jZ9xQpL2mN8vB4cR6tY1uI0oP5sD7f";
const REVOKED = "7412589630:AAFrevokedrevokedrevokedrevokedrevo";
const context = () => platformTestContext("telegram");

/** Asserts a failure is a ProviderError of `kind` whose message and details never carry a token. */
function expectSafe(err: unknown, kind: ProviderError["kind"]) {
  expect(err).toBeInstanceOf(ProviderError);
  const e = err as ProviderError;
  expect(e.kind).toBe(kind);
  const text = `${e.message} ${JSON.stringify(e.details)} ${e.stack ?? ""}`;
  expect(text).not.toContain(TOKEN);
  expect(text).not.toContain(REVOKED);
  expect(text).not.toContain("AAH");
  return e;
}

let fake: FakePlatform;
beforeEach(() => {
  fake = fakeFor("telegram");
  telegramFake(fake, {
    token: TOKEN,
    id: 7412589630,
    firstName: "Switchboard Poster",
    username: "switchboard_poster_bot",
  });
  // A revoked token answers as the Bot API does: {ok:false,error_code,description}.
  fake.api(`GET /bot${REVOKED}/getMe`, () =>
    Response.json({ ok: false, error_code: 401, description: "Unauthorized" }, { status: 401 }),
  );
});

describe("telegram module shape", () => {
  it("has no OAuth, no client credentials, nothing to refresh and no revoke", () => {
    expect(telegram.oauth).toBeUndefined();
    expect(telegram.needsClientCredentials).toBe(false);
    expect(telegram.refresh).toEqual({ kind: "none" });
    expect(telegram.revoke).toBeUndefined();
    expect(telegram.endpoints).toEqual({ apiBaseUrl: "https://api.telegram.org" });
  });

  it.each([
    [TOKEN, true],
    ["123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", true],
    ["", false],
    ["7412589630", false],
    ["7412589630:short", false],
    ["bot7412589630:AAHk3jZ9xQpL2mN8vB4cR6tY1uI0oP5sD7f", false],
    ["7412589630:AAHk3jZ9xQpL2mN8vB4cR6tY1uI0oP5sD7f/../x", false],
    ["7412589630:AAHk3jZ9xQpL2mN8vB4cR6tY1uI0oP5sD7f?x=1", false],
  ])("validates the token shape of %j", (token, valid) => {
    expect(isBotToken(token)).toBe(valid);
  });
});

describe("telegram connectWithCredentials", () => {
  it("verifies the token with getMe and maps the bot", async () => {
    const result = await telegram.connectWithCredentials?.(context(), {
      accessToken: ` ${TOKEN} `,
      extras: { chatId: "@switchboard_news" },
    });
    expect(fake.calls.at(-1)?.path).toBe(`/api/bot${TOKEN}/getMe`);
    expect(result).toEqual({
      tokens: {
        accessToken: TOKEN,
        refreshToken: null,
        expiresAt: null,
        extras: { chatId: "@switchboard_news" },
      },
      profile: {
        platformUserId: "7412589630",
        username: "@switchboard_poster_bot",
        displayName: "Switchboard Poster",
        avatarUrl: null,
        accountType: "bot",
      },
    });
  });

  it("keeps a numeric channel id and stores no chat when none is given", async () => {
    const withId = await telegram.connectWithCredentials?.(context(), {
      accessToken: TOKEN,
      extras: { chatId: -1001234567890 },
    });
    expect(withId?.tokens.extras).toEqual({ chatId: -1001234567890 });
    const without = await telegram.connectWithCredentials?.(context(), { accessToken: TOKEN });
    expect(without?.tokens.extras).toEqual({});
  });

  it("rejects a malformed token or chat id before calling Telegram", async () => {
    const badToken = await telegram
      .connectWithCredentials?.(context(), { accessToken: "hello" })
      .catch((e) => e);
    expect(badToken).toBeInstanceOf(ApiError);
    expect(badToken.code).toBe("INVALID_PARAM");
    const badChat = await telegram
      .connectWithCredentials?.(context(), { accessToken: TOKEN, extras: { chatId: "https://t.me/x" } })
      .catch((e) => e);
    expect(badChat).toBeInstanceOf(ApiError);
    expect(badChat.message).not.toContain(TOKEN);
    expect(fake.calls).toHaveLength(0);
  });

  it("refuses a revoked token without quoting it", async () => {
    const err = await telegram.connectWithCredentials?.(context(), { accessToken: REVOKED }).catch((e) => e);
    const e = expectSafe(err, "refused");
    expect(e.details.status).toBe(401);
    expect(e.message).toContain("Unauthorized");
  });
});

describe("telegram profile", () => {
  it("maps getMe for a stored token", async () => {
    const profile = await telegram.profile(context(), grantOf(TOKEN));
    expect(profile.platformUserId).toBe("7412589630");
    expect(profile.accountType).toBe("bot");
  });

  it("refuses a malformed stored token without calling", async () => {
    const err = await telegram.profile(context(), grantOf(`${TOKEN}/../../x`)).catch((e) => e);
    expectSafe(err, "refused");
    expect(fake.calls).toHaveLength(0);
  });

  it("treats a token Telegram cannot find (404) as refused", async () => {
    const unknown = "1111111111:AAunknownunknownunknownunknownunknow";
    fake.api(`GET /bot${unknown}/getMe`, () =>
      Response.json({ ok: false, error_code: 404, description: "Not Found" }, { status: 404 }),
    );
    const err = await telegram.profile(context(), grantOf(unknown)).catch((e) => e);
    expect(err.kind).toBe("refused");
    expect(err.message).not.toContain(unknown);
  });

  it("keeps 5xx, 429 and network failures transient, never quoting the token", async () => {
    fake.failNext({ kind: "5xx" });
    expectSafe(await telegram.profile(context(), grantOf(TOKEN)).catch((e) => e), "transient");

    fake.api(`GET /bot${TOKEN}/getMe`, () =>
      Response.json(
        {
          ok: false,
          error_code: 429,
          description: "Too Many Requests: retry after 17",
          parameters: { retry_after: 17 },
        },
        { status: 429 },
      ),
    );
    const limited = expectSafe(
      await telegram.profile(context(), grantOf(TOKEN)).catch((e) => e),
      "transient",
    );
    expect(limited.details).toMatchObject({ status: 429, retryAfterMs: 17_000 });

    fake.failNext({ kind: "network" });
    expectSafe(await telegram.profile(context(), grantOf(TOKEN)).catch((e) => e), "transient");
  });
});
