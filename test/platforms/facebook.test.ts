import { env } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import { beforeEach, describe, expect, it } from "vitest";
import { DAY } from "../../src/lib/time";
import { platformContext } from "../../src/platforms/catalogue";
import { facebook } from "../../src/platforms/facebook";
import { ProviderError } from "../../src/platforms/http";
import { refreshGrant } from "../../src/platforms/oauth";
import { listFacebookPages } from "../../src/platforms/pages/meta-pages";
import { facebookBusinessList, facebookPageList } from "../../src/platforms/wire/meta";
import type { FakeGrant, FakePlatform, FakeRequest } from "../helpers/fake-provider";
import {
  authorizeUrl,
  exchangeTestCode,
  grantOf,
  NOW,
  platformTestContext,
  redirectUriFor,
} from "../helpers/platform-context";
import { facebookFake, fakeFor, graphError, handlerOf, recordRoute } from "../helpers/platform-fakes";

const REDIRECT = redirectUriFor("facebook");
const VERIFIER = "verifier-".padEnd(64, "x");
const SCOPES = ["pages_show_list", "pages_manage_posts", "pages_read_engagement"];
const context = (now = NOW) => platformTestContext("facebook", now);

const user = { id: "10160000000000001", username: "unused", name: "Ada Lovelace" };

let fake: FakePlatform;
/** The fb_exchange_token calls, which swap a short-lived user token for a long-lived one. */
let exchanges: FakeRequest[];

/** The tokens sent as Bearer to the user's Graph routes (/me, /me/permissions), in order. */
const bearers = () =>
  fake.calls
    .filter((c) => c.path.startsWith("/api/me"))
    .map((c) => c.headers.get("authorization")?.replace(/^Bearer /, "") ?? null);

beforeEach(() => {
  fake = fakeFor("facebook");
  facebookFake(fake, { declined: ["pages_read_engagement"] });
  exchanges = recordRoute(fake, "GET /oauth/access_token");
});

describe("facebook authorization URL", () => {
  it("sends comma-separated page scopes (read_insights for the Page insights) and PKCE S256", async () => {
    const url = await authorizeUrl(facebook, { codeVerifier: VERIFIER });
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/facebook/authorize");
    expect(url.searchParams.get("client_id")).toBe("facebook-client-id");
    expect(url.searchParams.get("scope")).toBe(
      "pages_show_list,pages_manage_posts,pages_read_engagement,read_insights",
    );
    expect(url.searchParams.get("response_type")).toBe("code");
    expect(url.searchParams.get("redirect_uri")).toBe(REDIRECT);
    expect(url.searchParams.get("state")).toBe("state-1");
    expect(url.searchParams.get("code_challenge")).toBe(await oauth.calculatePKCECodeChallenge(VERIFIER));
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.has("auth_type")).toBe(false);
  });

  it("re-asks declined permissions on forcePrompt", async () => {
    const url = await authorizeUrl(facebook, { state: "s", codeVerifier: VERIFIER, forcePrompt: true });
    expect(url.searchParams.get("auth_type")).toBe("rerequest");
  });

  it("uses the real Graph v26.0 endpoints by default (v21.0 retires on 21 January 2027) and refreshes nothing", () => {
    expect(facebook.endpoints).toEqual({
      authorizationUrl: "https://www.facebook.com/v26.0/dialog/oauth",
      tokenUrl: "https://graph.facebook.com/v26.0/oauth/access_token",
      apiBaseUrl: "https://graph.facebook.com/v26.0",
    });
    expect(facebook.refresh).toEqual({ kind: "none" });
    expect(facebook.needsClientCredentials).toBe(true);
  });
});

describe("facebook code exchange", () => {
  it("exchanges the code with PKCE, then swaps the short-lived token for a long-lived one", async () => {
    const code = fake.issueCode(user, {
      scopes: SCOPES,
      challenge: await oauth.calculatePKCECodeChallenge(VERIFIER),
      redirectUri: REDIRECT,
    });
    const tokens = await exchangeTestCode(facebook, code, { codeVerifier: VERIFIER });

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
    expect(bearers()).toEqual([grant.accessToken]);
  });

  it("assumes about 60 days when the long-lived exchange omits expires_in", async () => {
    const exchange = handlerOf(fake, "GET /oauth/access_token");
    fake.api("GET /oauth/access_token", async (req) => {
      const res = await exchange(req);
      return res.ok
        ? res
            .json()
            .then((body) => Response.json({ access_token: (body as { access_token: string }).access_token }))
        : res;
    });
    const code = fake.issueCode(user, {
      scopes: SCOPES,
      challenge: await oauth.calculatePKCECodeChallenge(VERIFIER),
    });
    const tokens = await exchangeTestCode(facebook, code, { codeVerifier: VERIFIER });
    expect(tokens.expiresAt).toBe(NOW + 60 * DAY);
  });

  it("refuses when the short-lived token is rejected by the exchange (code 190)", async () => {
    fake.api("GET /oauth/access_token", () => graphError(190, 400, "Session has expired", 463));
    const code = fake.issueCode(user, {
      scopes: SCOPES,
      challenge: await oauth.calculatePKCECodeChallenge(VERIFIER),
    });
    const err = await exchangeTestCode(facebook, code, { codeVerifier: VERIFIER }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.details).toMatchObject({ status: 400, code: "190" });
  });

  it("refuses a code sent without the PKCE verifier it was issued for", async () => {
    const code = fake.issueCode(user, {
      scopes: SCOPES,
      challenge: await oauth.calculatePKCECodeChallenge(VERIFIER),
    });
    const err = await exchangeTestCode(facebook, code, {
      codeVerifier: "another-verifier".padEnd(64, "y"),
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
    expect(bearers()).toEqual([grant.accessToken]);
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
    expect(bearers()).toEqual([token]);
    expect(grant.revoked).toBe(true);

    const err = await facebook.profile(context(), grantOf(token)).catch((e) => e);
    expect(err.kind).toBe("refused");
  });
});

describe("facebook with a selected Page's token as the credential", () => {
  const PAGE_TOKEN = "facebook-page-token-0001";
  const pageGrant = (userToken: string) =>
    grantOf(PAGE_TOKEN, null, {
      extras: { pageId: "112233445566778", pageAccessToken: PAGE_TOKEN, userAccessToken: userToken },
    });

  it("checks the Page: /me with the Page token, typed page", async () => {
    const me = handlerOf(fake, "GET /me");
    fake.api("GET /me", (req) =>
      req.request.headers.get("authorization") === `Bearer ${PAGE_TOKEN}`
        ? Response.json({ id: "112233445566778", name: "Vox Burst" })
        : me(req),
    );
    const granted = fake.newGrant(user);
    expect(await facebook.profile(context(), pageGrant(granted.accessToken))).toEqual({
      platformUserId: "112233445566778",
      username: null,
      displayName: "Vox Burst",
      avatarUrl: null,
      accountType: "page",
    });
  });

  it("revokes with the user token kept in extras", async () => {
    const granted = fake.newGrant(user);
    await facebook.revoke?.(context(), pageGrant(granted.accessToken));
    const call = fake.calls.find((c) => c.method === "DELETE");
    expect(call?.headers.get("authorization")).toBe(`Bearer ${granted.accessToken}`);
    expect(granted.revoked).toBe(true);
  });

  it("revokes with the access token once a reconnect has put a user token back in its place", async () => {
    const granted = fake.newGrant(user);
    const reconnected = grantOf(granted.accessToken, null, {
      extras: { pageAccessToken: PAGE_TOKEN, userAccessToken: "facebook-stale-user-token" },
    });
    await facebook.revoke?.(context(), reconnected);
    expect(bearers()).toEqual([granted.accessToken]);
    expect(granted.revoked).toBe(true);
  });
});

describe("facebook Pages through the user's businesses", () => {
  const A = { id: "100000000000001", name: "Own Page" };
  const B = { id: "100000000000002", name: "Shared Page" };
  const C = { id: "100000000000003", name: "Client Page" };
  let asked: URL[] = [];
  const fields = (req: FakeRequest) => {
    asked.push(req.url);
    return req.url.searchParams.get("fields");
  };

  beforeEach(() => {
    asked = [];
    fake.api("GET /me/accounts", (req) =>
      Response.json(facebookPageList([{ ...A, accessToken: "page-a" }, B], fields(req))),
    );
    fake.api("GET /me/businesses", (req) =>
      Response.json(
        facebookBusinessList(
          [
            { id: "biz-1", name: "Agency" },
            { id: "biz-2", name: "Brand" },
          ],
          fields(req),
        ),
      ),
    );
    fake.api("GET /biz-1/owned_pages", (req) =>
      Response.json(facebookPageList([{ ...B, accessToken: "page-b" }], fields(req))),
    );
    fake.api("GET /biz-1/client_pages", (req) =>
      Response.json(facebookPageList([{ ...C, accessToken: "page-c" }], fields(req))),
    );
    fake.api("GET /biz-2/owned_pages", (req) =>
      Response.json(facebookPageList([{ ...A, accessToken: "page-a-2" }], fields(req))),
    );
    fake.api("GET /biz-2/client_pages", () => graphError(200, 403, "Permissions error"));
  });

  it("adds business-owned and client Pages to /me/accounts, once each, a business lending a missing token", async () => {
    const pages = await listFacebookPages(context(), "user-token", { businesses: true });
    expect(pages.map((p) => [p.id, p.accessToken])).toEqual([
      [A.id, "page-a"],
      [B.id, "page-b"],
      [C.id, "page-c"],
    ]);
    const fieldsOf = (path: string) => asked.find((u) => u.pathname === path)?.searchParams.get("fields");
    expect(fieldsOf("/facebook/api/me/businesses")).toBe("id,name");
    expect(fieldsOf("/facebook/api/biz-1/client_pages")).toBe("id,name,access_token,picture");
    expect(fake.calls.filter((c) => c.headers.get("authorization") !== "Bearer user-token")).toEqual([]);
  });

  it("reads no businesses without the option (a grant without business_management)", async () => {
    const pages = await listFacebookPages(context(), "user-token");
    expect(pages.map((p) => p.id)).toEqual([A.id, B.id]);
    expect(fake.calls.map((c) => c.path)).toEqual(["/api/me/accounts"]);
  });

  it("lists /me/accounts alone when the businesses edge is forbidden", async () => {
    fake.api("GET /me/businesses", () => graphError(200, 403, "Permissions error"));
    const pages = await listFacebookPages(context(), "user-token", { businesses: true });
    expect(pages.map((p) => p.id)).toEqual([A.id, B.id]);
  });
});

describe("facebook Login for Business", () => {
  it("sends the deployment's configuration id as config_id instead of scope", async () => {
    const url = await authorizeUrl(
      facebook,
      { codeVerifier: VERIFIER },
      {
        ...context(),
        loginConfigId: "1234567890123456",
      },
    );
    expect(url.searchParams.get("config_id")).toBe("1234567890123456");
    expect(url.searchParams.has("scope")).toBe(false);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("response_type")).toBe("code");
  });

  it("reads FACEBOOK_LOGIN_CONFIG_ID for Facebook only, and an empty one as unset", () => {
    const configured = { ...env, FACEBOOK_LOGIN_CONFIG_ID: " 1234567890123456 " };
    expect(platformContext(configured, "facebook", NOW).loginConfigId).toBe("1234567890123456");
    expect(platformContext(configured, "instagram", NOW).loginConfigId).toBeUndefined();
    const unset = { ...env, FACEBOOK_LOGIN_CONFIG_ID: "" };
    expect(platformContext(unset, "facebook", NOW).loginConfigId).toBeUndefined();
  });
});
