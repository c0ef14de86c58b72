import { beforeEach, describe, expect, it } from "vitest";
import { DAY, HOUR } from "../../src/lib/time";
import { ProviderError } from "../../src/platforms/http";
import { refreshGrant } from "../../src/platforms/oauth";
import { businessError, TIKTOK_BUSINESS, tiktok } from "../../src/platforms/tiktok";
import type { FakeGrant, FakePlatform } from "../helpers/fake-provider";
import {
  authorizeUrl,
  exchangeTestCode,
  grantOf,
  NOW,
  platformTestContext,
  redirectUriFor,
} from "../helpers/platform-context";
import { handlerOf, oauthFake, tiktokBusinessFake } from "../helpers/platform-fakes";

const REDIRECT = redirectUriFor("tiktok");
const context = (now = NOW) => platformTestContext("tiktok", now);

let fake: FakePlatform;
beforeEach(() => {
  fake = oauthFake("tiktok");
});

const creator = {
  id: "-000AbCdEf",
  username: "voxburst",
  name: "Vox Burst",
  avatarUrl: "https://p16.tiktokcdn.com/a.jpeg",
};

describe("tiktok authorization URL", () => {
  it("sends client_key, comma-separated scopes with user.info.profile (for username) and no PKCE", async () => {
    const url = await authorizeUrl(tiktok);
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/tiktok/authorize");
    expect(url.searchParams.get("client_key")).toBe("tiktok-client-id");
    expect(url.searchParams.has("client_id")).toBe(false);
    expect(url.searchParams.get("scope")).toBe(
      "user.info.basic,user.info.profile,video.publish,video.upload,video.list",
    );
    expect(url.searchParams.get("response_type")).toBe("code");
    expect(url.searchParams.get("redirect_uri")).toBe(REDIRECT);
    expect(url.searchParams.get("state")).toBe("state-1");
    expect(url.searchParams.has("code_challenge")).toBe(false);
    expect(url.searchParams.has("code_challenge_method")).toBe(false);
    expect(url.searchParams.has("disable_auto_auth")).toBe(false);
  });

  it("asks for the consent screen again on forcePrompt", async () => {
    const url = await authorizeUrl(tiktok, { state: "s", forcePrompt: true });
    expect(url.searchParams.get("disable_auto_auth")).toBe("1");
  });

  it("uses the real endpoints by default", () => {
    expect(tiktok.endpoints).toEqual({
      authorizationUrl: "https://www.tiktok.com/v2/auth/authorize/",
      tokenUrl: "https://open.tiktokapis.com/v2/oauth/token/",
      revocationUrl: "https://open.tiktokapis.com/v2/oauth/revoke/",
      apiBaseUrl: "https://open.tiktokapis.com",
    });
    expect(tiktok.refresh.kind).toBe("rotating");
  });
});

describe("tiktok code exchange", () => {
  it("posts client_key and client_secret in the form and parses lifetimes and scopes", async () => {
    const code = fake.issueCode(creator, {
      scopes: ["user.info.basic", "video.publish", "video.upload"],
      redirectUri: REDIRECT,
    });
    const tokens = await exchangeTestCode(tiktok, code);
    const request = new URLSearchParams(fake.calls.at(-1)?.body);
    expect(request.get("client_key")).toBe("tiktok-client-id");
    expect(request.get("client_secret")).toBe("tiktok-client-secret");
    expect(request.get("grant_type")).toBe("authorization_code");
    expect(request.has("code_verifier")).toBe(false);
    expect(fake.calls.at(-1)?.headers.get("authorization")).toBeNull();

    const grant = fake.grants[0] as FakeGrant;
    expect(tokens).toEqual({
      accessToken: grant.accessToken,
      refreshToken: grant.refreshToken,
      expiresAt: NOW + 2 * HOUR,
      refreshTokenExpiresAt: NOW + 180 * DAY,
      scopes: ["user.info.basic", "video.publish", "video.upload"],
    });
  });

  it("reads the older 24 h / 365 d lifetimes from the response rather than assuming them", async () => {
    fake.accessTtlSeconds = 86400;
    fake.refreshTtlSeconds = 365 * 86400;
    const code = fake.issueCode(creator, { scopes: ["user.info.basic"] });
    const tokens = await exchangeTestCode(tiktok, code);
    expect(tokens.expiresAt).toBe(NOW + DAY);
    expect(tokens.refreshTokenExpiresAt).toBe(NOW + 365 * DAY);
  });

  it("treats an error sent with HTTP 200 as a refusal", async () => {
    const code = fake.issueCode(creator);
    fake.shapeToken = () => ({
      error: "invalid_grant",
      error_description: "Authorization code is expired.",
      log_id: "202611201200000000000000000002",
    });
    const err = await exchangeTestCode(tiktok, code).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.details).toMatchObject({ status: 400, code: "invalid_grant" });
    expect(err.message).toContain("Authorization code is expired.");
  });

  it("treats a 5xx from the token endpoint as transient", async () => {
    const code = fake.issueCode(creator);
    fake.failNext({ kind: "5xx" });
    const err = await exchangeTestCode(tiktok, code).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("transient");
  });
});

describe("tiktok refresh", () => {
  it("rotates the refresh token and refuses a replayed one", async () => {
    const grant = fake.newGrant(creator, ["user.info.basic", "video.publish"]);
    const firstRefresh = grant.refreshToken as string;
    const later = NOW + 2 * HOUR - 5 * 60_000;
    const tokens = await refreshGrant(context(later), tiktok, grantOf(grant.accessToken, firstRefresh));
    expect(new URLSearchParams(fake.calls.at(-1)?.body).get("client_key")).toBe("tiktok-client-id");
    expect(tokens.refreshToken).toBeTruthy();
    expect(tokens.refreshToken).not.toBe(firstRefresh);
    expect(tokens.accessToken).toBe(grant.accessToken);
    expect(tokens.expiresAt).toBe(later + 2 * HOUR);
    expect(tokens.refreshTokenExpiresAt).toBe(later + 180 * DAY);
    expect(tokens.scopes).toEqual(["user.info.basic", "video.publish"]);

    const replay = await refreshGrant(context(later), tiktok, grantOf("old", firstRefresh)).catch((e) => e);
    expect(replay).toBeInstanceOf(ProviderError);
    expect(replay.kind).toBe("refused");
    expect(replay.details.code).toBe("invalid_grant");
  });

  it("keeps 429 transient with its Retry-After", async () => {
    const grant = fake.newGrant(creator);
    fake.failNext({ kind: "429", retryAfter: "30" });
    const err = await refreshGrant(context(), tiktok, grantOf(grant.accessToken, grant.refreshToken)).catch(
      (e) => e,
    );
    expect(err.kind).toBe("transient");
    expect(err.details).toMatchObject({ status: 429, retryAfterMs: 30_000 });
    expect(fake.liveGrants).toHaveLength(1);
  });
});

describe("tiktok profile", () => {
  it("maps user/info", async () => {
    const grant = fake.newGrant(creator);
    const profile = await tiktok.profile(context(), grantOf(grant.accessToken));
    expect(profile).toEqual({
      platformUserId: "-000AbCdEf",
      username: "@voxburst",
      displayName: "Vox Burst",
      avatarUrl: "https://p16.tiktokcdn.com/a.jpeg",
      accountType: null,
    });
    expect(fake.calls.at(-1)?.path).toBe("/api/v2/user/info/");
    expect(fake.calls.at(-1)?.headers.get("authorization")).toBe(`Bearer ${grant.accessToken}`);
  });

  it("falls back to the basic fields when username needs a scope the grant lacks", async () => {
    const userInfo = handlerOf(fake, "GET /v2/user/info/");
    fake.api("GET /v2/user/info/", (req) =>
      req.url.searchParams.get("fields")?.includes("username")
        ? Response.json(
            {
              data: {},
              error: {
                code: "scope_permission_missed",
                message: "username requires user.info.profile",
                log_id: "x",
              },
            },
            { status: 401 },
          )
        : userInfo(req),
    );
    const grant = fake.newGrant(creator);
    const profile = await tiktok.profile(context(), grantOf(grant.accessToken));
    expect(profile.platformUserId).toBe("-000AbCdEf");
    expect(profile.username).toBeNull();
    expect(profile.displayName).toBe("Vox Burst");
  });

  it("refuses a revoked token (401 access_token_invalid)", async () => {
    const err = await tiktok.profile(context(), grantOf("act.revoked")).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.details.code).toBe("access_token_invalid");
  });

  it("refuses a non-ok error code even with HTTP 200", async () => {
    fake.api("GET /v2/user/info/", () =>
      Response.json({
        data: {},
        error: { code: "access_token_invalid", message: "The access token is invalid.", log_id: "y" },
      }),
    );
    const err = await tiktok.profile(context(), grantOf("act.whatever")).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.details).toMatchObject({ status: 200, code: "access_token_invalid" });
  });

  it("treats 5xx as transient", async () => {
    const grant = fake.newGrant(creator);
    fake.failNext({ kind: "5xx" });
    const err = await tiktok.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("transient");
  });

  it("treats rate_limit_exceeded as transient", async () => {
    fake.api("GET /v2/user/info/", () =>
      Response.json(
        { data: {}, error: { code: "rate_limit_exceeded", message: "slow down", log_id: "z" } },
        { status: 429, headers: { "retry-after": "60" } },
      ),
    );
    const err = await tiktok.profile(context(), grantOf("act.x")).catch((e) => e);
    expect(err.kind).toBe("transient");
    expect(err.details.retryAfterMs).toBe(60_000);
  });
});

describe("tiktok revoke", () => {
  it("posts client_key, client_secret and token to the revoke endpoint", async () => {
    const grant = fake.newGrant(creator);
    await tiktok.revoke?.(context(), grantOf(grant.accessToken, grant.refreshToken));
    const call = fake.calls.at(-1);
    expect(call?.method).toBe("POST");
    expect(call?.path).toBe("/revoke");
    const form = new URLSearchParams(call?.body);
    expect(form.get("client_key")).toBe("tiktok-client-id");
    expect(form.get("client_secret")).toBe("tiktok-client-secret");
    expect(form.get("token")).toBe(grant.accessToken);
    expect(fake.revocations).toBe(1);
    expect(grant.revoked).toBe(true);

    const err = await tiktok.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(err.kind).toBe("refused");
  });

  it("treats a 5xx from the revoke endpoint as transient", async () => {
    fake.failNext({ kind: "5xx" });
    const err = await tiktok.revoke?.(context(), grantOf("act.x")).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("transient");
  });
});

describe("tiktok business variant", () => {
  const variant = tiktok.variants?.[TIKTOK_BUSINESS];
  const businessContext = (now = NOW) => platformTestContext("tiktok", now, { variant });

  it("has its own app, endpoints and a rotating refresh model", () => {
    expect(variant?.app).toMatchObject({
      key: "tiktok_business",
      secrets: { id: "TIKTOK_BUSINESS_CLIENT_ID", secret: "TIKTOK_BUSINESS_CLIENT_SECRET" },
      endpoints: {
        authorizationUrl: "https://www.tiktok.com/v2/auth/authorize/",
        apiBaseUrl: "https://business-api.tiktok.com",
      },
    });
    expect(variant?.refresh.kind).toBe("rotating");
    const ctx = businessContext();
    expect(ctx.clientId).toBe("tiktok_business-client-id");
    expect(ctx.endpoints.apiBaseUrl).toBe("https://fake.test/tiktok_business/api");
  });

  it("classifies envelope codes: auth refused, rate limit and 5xxxx transient, the rest invalid", () => {
    for (const code of [40102, 40104, 40105, 40107, 40131])
      expect(businessError(code, "x", 200, "call").kind).toBe("refused");
    for (const code of [40100, 50000, 50002])
      expect(businessError(code, "x", 200, "call").kind).toBe("transient");
    expect(businessError(40002, "x", 200, "call").kind).toBe("invalid");
  });

  it("reads the v1.2 names of the token answer too (expires, refresh_expires, creator_id)", async () => {
    const business = tiktokBusinessFake();
    business.api("POST /open_api/v1.3/tt_user/oauth2/refresh_token/", () =>
      Response.json({
        code: 0,
        message: "OK",
        request_id: "req-1",
        data: {
          access_token: "act.v12",
          expires: 86400,
          refresh_token: "rft.v12",
          refresh_expires: 31536000,
          creator_id: "creator-v12",
          scope: "user.info.basic,video.publish",
          token_type: "bearer",
        },
      }),
    );
    const tokens = await refreshGrant(
      businessContext(),
      tiktok,
      grantOf("act.old", "rft.old", { extras: { oauthVersion: TIKTOK_BUSINESS, openId: "creator-v12" } }),
    );
    expect(tokens).toMatchObject({
      accessToken: "act.v12",
      refreshToken: "rft.v12",
      expiresAt: NOW + DAY,
      refreshTokenExpiresAt: NOW + 365 * DAY,
      extras: { oauthVersion: TIKTOK_BUSINESS, openId: "creator-v12" },
    });
  });

  it("refuses business/get without the token, and a spent refresh token kills the grant", async () => {
    const business = tiktokBusinessFake();
    const grant = business.newGrant(creator, ["user.info.basic"]);
    const extras = { oauthVersion: TIKTOK_BUSINESS, openId: creator.id };
    const missing = await tiktok.profile(businessContext(), grantOf("", null, { extras })).catch((e) => e);
    expect(missing).toBeInstanceOf(ProviderError);
    expect(missing.kind).toBe("refused");
    expect(missing.details).toMatchObject({ status: 200, code: "40104" });

    const first = grant.refreshToken as string;
    const tokens = await refreshGrant(
      businessContext(),
      tiktok,
      grantOf(grant.accessToken, first, { extras }),
    );
    expect(tokens.refreshToken).not.toBe(first);
    expect(tokens.expiresAt).toBe(NOW + DAY);
    expect(tokens.refreshTokenExpiresAt).toBe(NOW + 365 * DAY);
    const replay = await refreshGrant(businessContext(), tiktok, grantOf("old", first, { extras })).catch(
      (e) => e,
    );
    expect(replay.kind).toBe("refused");
    expect(business.liveGrants).toHaveLength(0);
  });
});
