import { beforeEach, describe, expect, it } from "vitest";
import { DAY } from "../../src/lib/time";
import { ProviderError } from "../../src/platforms/http";
import { refreshGrant } from "../../src/platforms/oauth";
import { pinterest } from "../../src/platforms/pinterest";
import type { FakePlatform } from "../helpers/fake-provider";
import {
  authorizeUrl,
  exchangeTestCode,
  grantOf,
  NOW,
  platformTestContext,
  redirectUriFor,
} from "../helpers/platform-context";
import { oauthFake } from "../helpers/platform-fakes";

const REDIRECT = redirectUriFor("pinterest");
const SCOPES = ["boards:read", "boards:write", "pins:read", "pins:write", "user_accounts:read"];
const ACCESS_TTL = 2_592_000;
const REFRESH_TTL = 5_184_000;
const context = (now = NOW) => platformTestContext("pinterest", now);

const PROFILE = {
  id: "2783136121146311751",
  username: "janebakes",
  name: "Jane's Bakery",
  avatarUrl: "https://i.pinimg.com/600x600_R/42/f5/36/42f536a3b7d1e2c4.jpg",
};

let fake: FakePlatform;
beforeEach(() => {
  fake = oauthFake("pinterest");
});

describe("pinterest authorization URL", () => {
  it("asks for comma-separated scopes, without PKCE", async () => {
    expect(pinterest.endpoints).toEqual({
      authorizationUrl: "https://www.pinterest.com/oauth/",
      tokenUrl: "https://api.pinterest.com/v5/oauth/token",
      apiBaseUrl: "https://api.pinterest.com",
    });
    const url = await authorizeUrl(pinterest);
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/pinterest/authorize");
    const q = url.searchParams;
    expect(q.get("client_id")).toBe("pinterest-client-id");
    expect(q.get("response_type")).toBe("code");
    expect(q.get("redirect_uri")).toBe(REDIRECT);
    expect(q.get("state")).toBe("state-1");
    expect(q.get("scope")).toBe(SCOPES.join(","));
    expect(q.has("code_challenge")).toBe(false);
  });
});

describe("pinterest code exchange and refresh", () => {
  async function connect() {
    const code = fake.issueCode(PROFILE, { scopes: SCOPES, redirectUri: REDIRECT });
    return exchangeTestCode(pinterest, code);
  }

  it("exchanges the code with HTTP Basic, asking for a continuous refresh token", async () => {
    const tokens = await connect();
    expect(tokens.accessToken).toBe(fake.grants[0]?.accessToken);
    expect(tokens.refreshToken).toBe(fake.grants[0]?.refreshToken);
    expect(tokens.expiresAt).toBe(NOW + ACCESS_TTL * 1000);
    expect(tokens.refreshTokenExpiresAt).toBe(NOW + REFRESH_TTL * 1000);
    expect(tokens.scopes).toEqual(SCOPES);
    const call = fake.calls.find((c) => c.path === "/token");
    expect(call?.headers.get("authorization")).toMatch(/^Basic /);
    const body = new URLSearchParams(call?.body);
    expect(body.get("grant_type")).toBe("authorization_code");
    expect(body.get("continuous_refresh")).toBe("true");
    expect(body.has("client_secret")).toBe(false);
    expect(body.has("code_verifier")).toBe(false);
  });

  it("stores the new refresh token every refresh answers; the spent one is refused", async () => {
    const tokens = await connect();
    const later = NOW + 25 * DAY;
    const refreshed = await refreshGrant(
      context(later),
      pinterest,
      grantOf(tokens.accessToken, tokens.refreshToken ?? null),
    );
    expect(refreshed.accessToken).toBe(fake.grants[0]?.accessToken);
    expect(refreshed.refreshToken).toBe(fake.grants[0]?.refreshToken);
    expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
    expect(refreshed.expiresAt).toBe(later + ACCESS_TTL * 1000);
    expect(refreshed.refreshTokenExpiresAt).toBe(later + REFRESH_TTL * 1000);
    const body = new URLSearchParams(fake.calls.filter((c) => c.path === "/token").at(-1)?.body);
    expect(body.get("grant_type")).toBe("refresh_token");
    expect(body.get("continuous_refresh")).toBe("true");

    const replay = await refreshGrant(
      context(later),
      pinterest,
      grantOf("x", tokens.refreshToken ?? null),
    ).catch((e) => e);
    expect(replay).toBeInstanceOf(ProviderError);
    expect(replay.kind).toBe("refused");
    expect(pinterest.refresh).toEqual({ kind: "rotating", leadMs: 7 * DAY });
  });

  it("classifies a 5xx on refresh as transient", async () => {
    fake.failNext({ kind: "5xx" });
    const err = await refreshGrant(context(), pinterest, grantOf("x", "any")).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("transient");
  });
});

describe("pinterest profile", () => {
  it("maps user_account: id, username, business name, image, account type", async () => {
    const grant = fake.newGrant(PROFILE);
    expect(await pinterest.profile(context(), grantOf(grant.accessToken))).toEqual({
      platformUserId: "2783136121146311751",
      username: "janebakes",
      displayName: "Jane's Bakery",
      avatarUrl: PROFILE.avatarUrl,
      accountType: "business",
    });
  });

  it("maps a personal (PINNER) account, falling back to the username for its name", async () => {
    fake.api("GET /v5/user_account", () =>
      Response.json({
        account_type: "PINNER",
        id: "1",
        username: "jane",
        profile_image: "",
        business_name: null,
      }),
    );
    const grant = fake.newGrant(PROFILE);
    expect(await pinterest.profile(context(), grantOf(grant.accessToken))).toEqual({
      platformUserId: "1",
      username: "jane",
      displayName: "jane",
      avatarUrl: null,
      accountType: "personal",
    });
  });

  it("classifies a revoked token as refused and a 5xx as transient", async () => {
    const revoked = await pinterest.profile(context(), grantOf("revoked")).catch((e) => e);
    expect(revoked).toBeInstanceOf(ProviderError);
    expect(revoked.kind).toBe("refused");
    const grant = fake.newGrant(PROFILE);
    fake.failNext({ kind: "5xx" });
    const down = await pinterest.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(down.kind).toBe("transient");
  });
});

describe("pinterest revoke", () => {
  it("has none: Pinterest revokes only system-user tokens", () => {
    expect(pinterest.revoke).toBeUndefined();
  });
});
