import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { HOUR } from "../../src/lib/time";
import { ProviderError, timedFetch } from "../../src/platforms/http";
import { buildAuthorizationUrl, exchangeCode, refreshGrant } from "../../src/platforms/oauth";
import { snapchat } from "../../src/platforms/snapchat";
import type { PlatformContext } from "../../src/platforms/types";
import { type FakePlatform, fakePlatform } from "../helpers/fake-provider";

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const REDIRECT = "https://switchboard.test/v1/oauth/redirect/snapchat";
const vars = env as unknown as {
  PROVIDER_OVERRIDES: string;
  SNAPCHAT_CLIENT_ID: string;
  SNAPCHAT_CLIENT_SECRET: string;
};

/** What platformContext builds for Snapchat once it is in the catalogue. */
function context(now = NOW): PlatformContext {
  return {
    platform: "snapchat",
    endpoints: { ...snapchat.endpoints, ...JSON.parse(vars.PROVIDER_OVERRIDES).snapchat },
    clientId: vars.SNAPCHAT_CLIENT_ID,
    clientSecret: vars.SNAPCHAT_CLIENT_SECRET,
    allowHttp: true,
    fetch: timedFetch(),
    now,
  };
}

const grantOf = (accessToken: string, refreshToken: string | null = null) => ({
  accessToken,
  refreshToken,
  extras: {},
});

const member = { id: "a22b5575-9052-437e-96c1-db781d62d203", username: "honey_badger", name: "Honey Badger" };

let fake: FakePlatform;
beforeEach(() => {
  fake = fakePlatform("snapchat");
  fake.clientAuth = "post";
  fake.rotating = false;
  fake.accessTtlSeconds = 3600;
  fake.refreshTtlSeconds = null;
  fake.shapeToken = (body) => ({ ...body, token_type: "Bearer" });
  // GET /v1/me as the Marketing API answers it.
  fake.api("GET /v1/me", ({ grant }) =>
    grant
      ? Response.json({
          request_status: "SUCCESS",
          request_id:
            "57affee300ff0d91229fabb9710001737e616473617069736300016275696c642d35396264653638322d312d31312d3700010110",
          me: {
            id: grant.profile.id,
            updated_at: "2026-09-28T23:33:01.706Z",
            created_at: "2026-09-28T23:30:27.009Z",
            email: "honey.badger@hooli.com",
            organization_id: "40d6719b-da09-410b-9185-0cc9c0dfed1d",
            display_name: grant.profile.name,
            snapchat_username: grant.profile.username,
            member_status: "MEMBER",
            bitmoji: {
              avatar_id: "199953104_65-s7",
              selfie_id: "10226021",
              background_id: "398580551",
              scene_id: "",
            },
          },
        })
      : Response.json(
          {
            request_status: "ERROR",
            request_id: "5f0e",
            debug_message: "Unauthorized",
            display_message: "We're sorry, but the requested resource is not available at this time",
            error_code: "E3003",
          },
          { status: 401 },
        ),
  );
});

describe("snapchat authorization URL", () => {
  it("sends client_id, the marketing scope and no PKCE", async () => {
    const url = new URL(
      await buildAuthorizationUrl(context(), snapchat, {
        state: "state-1",
        codeVerifier: "v".repeat(43),
        redirectUri: REDIRECT,
      }),
    );
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/snapchat/authorize");
    expect(url.searchParams.get("client_id")).toBe("snapchat-client-id");
    expect(url.searchParams.get("scope")).toBe("snapchat-marketing-api");
    expect(url.searchParams.get("response_type")).toBe("code");
    expect(url.searchParams.get("redirect_uri")).toBe(REDIRECT);
    expect(url.searchParams.get("state")).toBe("state-1");
    expect(url.searchParams.has("code_challenge")).toBe(false);
  });

  it("uses the real endpoints by default and has no revoke", () => {
    expect(snapchat.endpoints).toEqual({
      authorizationUrl: "https://accounts.snapchat.com/login/oauth2/authorize",
      tokenUrl: "https://accounts.snapchat.com/login/oauth2/access_token",
      apiBaseUrl: "https://adsapi.snapchat.com",
    });
    expect(snapchat.revoke).toBeUndefined();
  });
});

describe("snapchat code exchange", () => {
  it("posts the client secret in the form and parses expiry and scope", async () => {
    const code = fake.issueCode(member, { scopes: ["snapchat-marketing-api"], redirectUri: REDIRECT });
    const tokens = await exchangeCode(context(), snapchat, {
      code,
      codeVerifier: "unused",
      redirectUri: REDIRECT,
    });
    const form = new URLSearchParams(fake.calls.at(-1)?.body);
    expect(form.get("client_id")).toBe("snapchat-client-id");
    expect(form.get("client_secret")).toBe("snapchat-client-secret");
    expect(form.has("code_verifier")).toBe(false);
    expect(tokens).toEqual({
      accessToken: fake.grants[0]?.accessToken,
      refreshToken: fake.grants[0]?.refreshToken,
      expiresAt: NOW + HOUR,
      refreshTokenExpiresAt: null,
      scopes: ["snapchat-marketing-api"],
    });
  });

  it("refuses an unknown code", async () => {
    const err = await exchangeCode(context(), snapchat, {
      code: "nope",
      codeVerifier: "x",
      redirectUri: REDIRECT,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
  });
});

describe("snapchat refresh", () => {
  it("refreshes with the standard grant and keeps working with the same refresh token", async () => {
    const grant = fake.newGrant(member, ["snapchat-marketing-api"]);
    const refresh = grant.refreshToken as string;
    const later = NOW + 55 * 60_000;
    const first = await refreshGrant(context(later), snapchat, grantOf(grant.accessToken, refresh));
    expect(first.expiresAt).toBe(later + HOUR);
    expect(first.refreshToken).toBe(refresh);
    const second = await refreshGrant(context(later), snapchat, grantOf(first.accessToken, refresh));
    expect(second.accessToken).not.toBe(first.accessToken);
  });

  it("passes on a new refresh token when one comes back", async () => {
    fake.rotating = true;
    const grant = fake.newGrant(member);
    const old = grant.refreshToken;
    const tokens = await refreshGrant(context(), snapchat, grantOf(grant.accessToken, old));
    expect(tokens.refreshToken).toBe(grant.refreshToken);
    expect(tokens.refreshToken).not.toBe(old);
  });

  it("refuses a revoked refresh token and keeps 5xx transient", async () => {
    const grant = fake.newGrant(member);
    fake.failNext({ kind: "5xx" });
    const transient = await refreshGrant(
      context(),
      snapchat,
      grantOf(grant.accessToken, grant.refreshToken),
    ).catch((e) => e);
    expect(transient.kind).toBe("transient");
    fake.failNext({ kind: "invalid_grant" });
    const refused = await refreshGrant(
      context(),
      snapchat,
      grantOf(grant.accessToken, grant.refreshToken),
    ).catch((e) => e);
    expect(refused).toBeInstanceOf(ProviderError);
    expect(refused.kind).toBe("refused");
  });
});

describe("snapchat profile", () => {
  it("maps /v1/me", async () => {
    const grant = fake.newGrant(member);
    const profile = await snapchat.profile(context(), grantOf(grant.accessToken));
    expect(fake.calls.at(-1)?.path).toBe("/api/v1/me");
    expect(profile).toEqual({
      platformUserId: "a22b5575-9052-437e-96c1-db781d62d203",
      username: "honey_badger",
      displayName: "Honey Badger",
      avatarUrl: null,
      accountType: "business",
    });
  });

  it("refuses a revoked token", async () => {
    const err = await snapchat.profile(context(), grantOf("revoked")).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.details.status).toBe(401);
  });

  it("treats 5xx as transient", async () => {
    const grant = fake.newGrant(member);
    fake.failNext({ kind: "5xx" });
    const err = await snapchat.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(err.kind).toBe("transient");
  });
});
