import { env } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import { beforeEach, describe, expect, it } from "vitest";
import { DAY } from "../../src/lib/time";
import { facebook } from "../../src/platforms/facebook";
import { ProviderError, timedFetch } from "../../src/platforms/http";
import { buildAuthorizationUrl, exchangeCode, refreshGrant } from "../../src/platforms/oauth";
import type { Grant, PlatformContext } from "../../src/platforms/types";
import { type FakeGrant, type FakePlatform, type FakeRequest, fakePlatform } from "../helpers/fake-provider";

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const REDIRECT = "https://switchboard.test/v1/oauth/redirect/facebook";
const VERIFIER = "verifier-".padEnd(64, "x");
const vars = env as unknown as Record<string, string>;

/** What platformContext builds for Facebook once it is in the catalogue. */
function context(now = NOW): PlatformContext {
  return {
    platform: "facebook",
    endpoints: { ...facebook.endpoints, ...JSON.parse(vars.PROVIDER_OVERRIDES ?? "{}").facebook },
    clientId: vars.FACEBOOK_CLIENT_ID ?? "",
    clientSecret: vars.FACEBOOK_CLIENT_SECRET ?? "",
    allowHttp: true,
    fetch: timedFetch(),
    now,
  };
}

const grantOf = (accessToken: string): Grant => ({ accessToken, refreshToken: null, extras: {} });

/** Graph's error envelope, e.g. code 190 for a dead token, 4/17/32/613 for rate limits. */
function graphError(code: number, status = 400, message = "Error validating access token", subcode?: number) {
  return Response.json(
    {
      error: {
        message,
        type: code === 190 ? "OAuthException" : "GraphMethodException",
        code,
        ...(subcode ? { error_subcode: subcode } : {}),
        fbtrace_id: "AbCdEfGhIjK",
      },
    },
    { status },
  );
}

const user = { id: "10160000000000001", username: "unused", name: "Ada Lovelace" };

let fake: FakePlatform;
let exchanges: URL[];
let bearers: (string | null)[];

/** GET /oauth/access_token?grant_type=fb_exchange_token: swaps a valid short-lived user token for a long-lived one. */
function exchange({ url }: FakeRequest): Response {
  exchanges.push(url);
  const grant = fake.grantByAccess(url.searchParams.get("fb_exchange_token"));
  if (
    url.searchParams.get("grant_type") !== "fb_exchange_token" ||
    url.searchParams.get("client_id") !== "facebook-client-id" ||
    url.searchParams.get("client_secret") !== "facebook-client-secret"
  )
    return graphError(101, 400, "Error validating application");
  if (!grant || grant.revoked) return graphError(190, 400, "Error validating access token", 463);
  grant.accessToken = fake.token("long");
  return Response.json({ access_token: grant.accessToken, token_type: "bearer", expires_in: 5183944 });
}

/** A Graph route authenticated with the user token as Bearer; anything else answers code 190. */
function authed(handler: (grant: FakeGrant, req: FakeRequest) => Response) {
  return (req: FakeRequest) => {
    bearers.push(req.request.headers.get("authorization")?.replace(/^Bearer /, "") ?? null);
    return req.grant ? handler(req.grant, req) : graphError(190, 400, "Invalid OAuth access token data.");
  };
}

beforeEach(() => {
  fake = fakePlatform("facebook");
  fake.clientAuth = "post";
  fake.rotating = false;
  exchanges = [];
  bearers = [];
  // The code exchange answers a short-lived user token: no scope, no refresh token.
  fake.shapeToken = (body) => ({ access_token: body.access_token, token_type: "bearer", expires_in: 5183 });
  fake.api("GET /oauth/access_token", exchange);
  fake.api(
    "GET /me/permissions",
    authed(() =>
      Response.json({
        data: [
          { permission: "pages_show_list", status: "granted" },
          { permission: "pages_manage_posts", status: "granted" },
          { permission: "pages_read_engagement", status: "declined" },
          { permission: "public_profile", status: "granted" },
        ],
      }),
    ),
  );
  fake.api(
    "GET /me",
    authed((grant, { url }) =>
      Response.json({
        id: grant.profile.id,
        ...(url.searchParams.get("fields")?.includes("name") ? { name: grant.profile.name } : {}),
        picture: {
          data: {
            height: 50,
            is_silhouette: grant.profile.avatarUrl === undefined,
            url: grant.profile.avatarUrl ?? "https://static.xx.fbcdn.net/rsrc.php/silhouette.png",
            width: 50,
          },
        },
      }),
    ),
  );
  fake.api(
    "DELETE /me/permissions",
    authed((grant) => {
      grant.revoked = true;
      return Response.json({ success: true });
    }),
  );
});

describe("facebook authorization URL", () => {
  it("sends comma-separated page scopes and PKCE S256", async () => {
    const url = new URL(
      await buildAuthorizationUrl(context(), facebook, {
        state: "state-1",
        codeVerifier: VERIFIER,
        redirectUri: REDIRECT,
      }),
    );
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/facebook/authorize");
    expect(url.searchParams.get("client_id")).toBe("facebook-client-id");
    expect(url.searchParams.get("scope")).toBe("pages_show_list,pages_manage_posts,pages_read_engagement");
    expect(url.searchParams.get("response_type")).toBe("code");
    expect(url.searchParams.get("redirect_uri")).toBe(REDIRECT);
    expect(url.searchParams.get("state")).toBe("state-1");
    expect(url.searchParams.get("code_challenge")).toBe(await oauth.calculatePKCECodeChallenge(VERIFIER));
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.has("auth_type")).toBe(false);
  });

  it("re-asks declined permissions on forcePrompt", async () => {
    const url = new URL(
      await buildAuthorizationUrl(context(), facebook, {
        state: "s",
        codeVerifier: VERIFIER,
        redirectUri: REDIRECT,
        forcePrompt: true,
      }),
    );
    expect(url.searchParams.get("auth_type")).toBe("rerequest");
  });

  it("uses the real Graph v21.0 endpoints by default and refreshes nothing", () => {
    expect(facebook.endpoints).toEqual({
      authorizationUrl: "https://www.facebook.com/v21.0/dialog/oauth",
      tokenUrl: "https://graph.facebook.com/v21.0/oauth/access_token",
      apiBaseUrl: "https://graph.facebook.com/v21.0",
    });
    expect(facebook.refresh).toEqual({ kind: "none" });
    expect(facebook.needsClientCredentials).toBe(true);
  });
});

describe("facebook code exchange", () => {
  it("exchanges the code with PKCE, then swaps the short-lived token for a long-lived one", async () => {
    const code = fake.issueCode(user, {
      challenge: await oauth.calculatePKCECodeChallenge(VERIFIER),
      redirectUri: REDIRECT,
    });
    const tokens = await exchangeCode(context(), facebook, {
      code,
      codeVerifier: VERIFIER,
      redirectUri: REDIRECT,
    });

    const tokenRequest = new URLSearchParams(fake.calls.find((c) => c.path === "/token")?.body);
    expect(tokenRequest.get("client_id")).toBe("facebook-client-id");
    expect(tokenRequest.get("client_secret")).toBe("facebook-client-secret");
    expect(tokenRequest.get("code_verifier")).toBe(VERIFIER);

    expect(exchanges).toHaveLength(1);
    const grant = fake.grants[0] as FakeGrant;
    expect(tokens).toEqual({
      accessToken: grant.accessToken,
      refreshToken: null,
      expiresAt: NOW + 5183944 * 1000,
      scopes: ["pages_show_list", "pages_manage_posts", "public_profile"],
    });
    expect(grant.accessToken).toContain("-long-");
    expect(bearers).toEqual([grant.accessToken]);
  });

  it("assumes about 60 days when the long-lived exchange omits expires_in", async () => {
    fake.api("GET /oauth/access_token", (req) => {
      const res = exchange(req);
      return res.ok
        ? res
            .json()
            .then((body) => Response.json({ access_token: (body as { access_token: string }).access_token }))
        : res;
    });
    const code = fake.issueCode(user, { challenge: await oauth.calculatePKCECodeChallenge(VERIFIER) });
    const tokens = await exchangeCode(context(), facebook, {
      code,
      codeVerifier: VERIFIER,
      redirectUri: REDIRECT,
    });
    expect(tokens.expiresAt).toBe(NOW + 60 * DAY);
  });

  it("refuses when the short-lived token is rejected by the exchange (code 190)", async () => {
    fake.api("GET /oauth/access_token", () => graphError(190, 400, "Session has expired", 463));
    const code = fake.issueCode(user, { challenge: await oauth.calculatePKCECodeChallenge(VERIFIER) });
    const err = await exchangeCode(context(), facebook, {
      code,
      codeVerifier: VERIFIER,
      redirectUri: REDIRECT,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.details).toMatchObject({ status: 400, code: "190" });
  });

  it("refuses a code sent without the PKCE verifier it was issued for", async () => {
    const code = fake.issueCode(user, { challenge: await oauth.calculatePKCECodeChallenge(VERIFIER) });
    const err = await exchangeCode(context(), facebook, {
      code,
      codeVerifier: "another-verifier".padEnd(64, "y"),
      redirectUri: REDIRECT,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(exchanges).toHaveLength(0);
  });
});

describe("facebook profile", () => {
  it("maps /me to a personal profile", async () => {
    const grant = fake.newGrant({ ...user, avatarUrl: "https://scontent.xx.fbcdn.net/v/ada.jpg" });
    const profile = await facebook.profile(context(), grantOf(grant.accessToken));
    expect(profile).toEqual({
      platformUserId: "10160000000000001",
      username: null,
      displayName: "Ada Lovelace",
      avatarUrl: "https://scontent.xx.fbcdn.net/v/ada.jpg",
      accountType: "personal",
    });
    expect(bearers).toEqual([grant.accessToken]);
  });

  it("drops the default silhouette picture", async () => {
    const grant = fake.newGrant(user);
    const profile = await facebook.profile(context(), grantOf(grant.accessToken));
    expect(profile.avatarUrl).toBeNull();
  });
});

describe("facebook Graph errors", () => {
  const profileError = (response: () => Response) => {
    fake.api("GET /me", response);
    return facebook.profile(context(), grantOf("EAAdeadtoken")).catch((e) => e);
  };

  it("treats code 190 as a definite refusal", async () => {
    const err = await profileError(() =>
      graphError(190, 400, "Error validating access token: Session has expired"),
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.details).toMatchObject({ status: 400, code: "190" });
  });

  it("treats code 190 as a refusal even when Graph answers 5xx", async () => {
    const err = await profileError(() => graphError(190, 500));
    expect(err.kind).toBe("refused");
  });

  it.each([
    [4, 400, "Application request limit reached"],
    [17, 400, "User request limit reached"],
    [32, 403, "Page request limit reached"],
    [613, 400, "Calls to this api have exceeded the rate limit"],
    [80001, 400, "There have been too many calls to this Page account"],
    [2, 500, "An unexpected error has occurred. Please retry your request later."],
  ])("treats Graph code %i (HTTP %i) as transient", async (code, status, message) => {
    const err = await profileError(() => graphError(code, status, message));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("transient");
    expect(err.details).toMatchObject({ status, code: String(code) });
  });

  it("treats a bare 5xx as transient", async () => {
    fake.failNext({ kind: "5xx" });
    const err = await facebook.profile(context(), grantOf("EAAtoken")).catch((e) => e);
    expect(err.kind).toBe("transient");
  });

  it("never echoes the token in the error message", async () => {
    const err = await profileError(() => graphError(190, 400, "Malformed access token EAAdeadtoken"));
    expect(err.kind).toBe("refused");
    expect(err.message).not.toContain("EAAdeadtoken");
  });

  it("has nothing to refresh: the shared refresh refuses without calling", async () => {
    const before = fake.calls.length;
    const err = await refreshGrant(context(), facebook, grantOf("EAAtoken")).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(fake.calls.length).toBe(before);
  });
});

describe("facebook revoke", () => {
  it("deletes the user's permissions with the user token, after which the token is refused", async () => {
    const grant = fake.newGrant(user);
    const token = grant.accessToken;
    await facebook.revoke?.(context(), grantOf(token));
    const call = fake.calls.find((c) => c.method === "DELETE");
    expect(call?.path).toBe("/api/me/permissions");
    expect(call?.headers.get("authorization")).toBe(`Bearer ${token}`);
    expect(bearers).toEqual([token]);
    expect(grant.revoked).toBe(true);

    const err = await facebook.profile(context(), grantOf(token)).catch((e) => e);
    expect(err.kind).toBe("refused");
  });
});
