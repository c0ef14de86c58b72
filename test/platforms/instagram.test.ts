import { beforeEach, describe, expect, it } from "vitest";
import { DAY, HOUR } from "../../src/lib/time";
import { ProviderError } from "../../src/platforms/http";
import { instagram } from "../../src/platforms/instagram";
import { GRAPH_VERSION } from "../../src/platforms/meta";
import { refreshGrant } from "../../src/platforms/oauth";
import type { Grant } from "../../src/platforms/types";
import type { FakeGrant, FakePlatform } from "../helpers/fake-provider";
import {
  authorizeUrl,
  exchangeTestCode,
  grantOf,
  NOW,
  platformTestContext,
  redirectUriFor,
} from "../helpers/platform-context";
import { graphError, instagramFake, oauthFake } from "../helpers/platform-fakes";

const REDIRECT = redirectUriFor("instagram");
const context = (now = NOW) => platformTestContext("instagram", now);

/** The professional account id (/me user_id) differs from the app-scoped id (/me id). */
const IG_USER_ID = "17841405793187218";
const creator = {
  id: IG_USER_ID,
  username: "jayposiris",
  name: "Jay Posiris",
  avatarUrl: "https://scontent.cdninstagram.com/jay.jpg",
};
const PERMISSIONS =
  "instagram_business_basic,instagram_business_content_publish,instagram_business_manage_insights";
const SCOPES = PERMISSIONS.split(",");

let fake: FakePlatform;
beforeEach(() => {
  fake = oauthFake("instagram");
});

/** A grant from Instagram Login, the way it is stored. */
const igGrant = (accessToken: string, times: Partial<Grant> = {}): Grant =>
  grantOf(accessToken, null, { extras: { oauthVersion: "instagram_login" }, ...times });

describe("instagram authorization URL", () => {
  it("sends comma-separated business scopes and no PKCE", async () => {
    const url = await authorizeUrl(instagram);
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/instagram/authorize");
    expect(url.searchParams.get("client_id")).toBe("instagram-client-id");
    expect(url.searchParams.get("scope")).toBe(PERMISSIONS);
    expect(url.searchParams.get("response_type")).toBe("code");
    expect(url.searchParams.get("redirect_uri")).toBe(REDIRECT);
    expect(url.searchParams.get("state")).toBe("state-1");
    expect(url.searchParams.has("code_challenge")).toBe(false);
    expect(url.searchParams.has("code_challenge_method")).toBe(false);
    expect(url.searchParams.has("force_authentication")).toBe(false);
  });

  it("asks the user to log in again on forcePrompt", async () => {
    const url = await authorizeUrl(instagram, { state: "s", forcePrompt: true });
    expect(url.searchParams.get("force_authentication")).toBe("1");
  });

  it("uses the real Instagram Login endpoints by default and extends in place", () => {
    expect(instagram.endpoints).toEqual({
      authorizationUrl: "https://www.instagram.com/oauth/authorize",
      tokenUrl: "https://api.instagram.com/oauth/access_token",
      apiBaseUrl: "https://graph.instagram.com",
    });
    expect(instagram.refresh).toEqual({ kind: "extend-in-place", leadMs: 7 * DAY, minAgeMs: DAY });
  });
});

describe("instagram revoke", () => {
  it("calls nothing for an Instagram Login grant, which has no documented revocation", async () => {
    const grant = fake.newGrant(creator, SCOPES);
    await instagram.revoke?.(context(), igGrant(grant.accessToken));
    expect(fake.calls).toEqual([]);
  });

  it("deauthorizes a Facebook-Login grant with DELETE me/permissions and the Facebook user token", async () => {
    const removed: string[] = [];
    fake.api(`DELETE /${GRAPH_VERSION}/me/permissions`, ({ request }) => {
      removed.push(request.headers.get("authorization") ?? "");
      return Response.json({ success: true });
    });
    const extras = { oauthVersion: "fb_login", igUserId: IG_USER_ID };
    await instagram.revoke?.(context(), grantOf("EAAB-user-token", null, { extras }));
    expect(removed).toEqual(["Bearer EAAB-user-token"]);
  });

  it("surfaces a refused Facebook-Login revocation (code 190)", async () => {
    fake.api(`DELETE /${GRAPH_VERSION}/me/permissions`, () => graphError(190, 400, "Session has expired"));
    const extras = { oauthVersion: "fb_login" };
    const err = await instagram.revoke?.(context(), grantOf("dead", null, { extras })).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
  });
});

describe("instagram code exchange", () => {
  it("posts client credentials without PKCE, then exchanges for a 60-day token", async () => {
    const code = fake.issueCode(creator, { scopes: SCOPES, redirectUri: REDIRECT });
    const tokens = await exchangeTestCode(instagram, code);

    const tokenRequest = new URLSearchParams(fake.calls.find((c) => c.path === "/token")?.body);
    expect(tokenRequest.get("client_id")).toBe("instagram-client-id");
    expect(tokenRequest.get("client_secret")).toBe("instagram-client-secret");
    expect(tokenRequest.get("grant_type")).toBe("authorization_code");
    expect(tokenRequest.get("redirect_uri")).toBe(REDIRECT);
    expect(tokenRequest.has("code_verifier")).toBe(false);

    const exchange = fake.calls.find((c) => c.path === "/api/access_token");
    expect(exchange?.method).toBe("GET");
    const grant = fake.grants[0] as FakeGrant;
    expect(tokens).toMatchObject({
      accessToken: grant.accessToken,
      refreshToken: null,
      expiresAt: NOW + 60 * DAY,
      extras: { oauthVersion: "instagram_login" },
    });
    expect(grant.accessToken).toContain("-long-");
  });

  // The reference page shows the token wrapped in {data:[…]}; the shared protocol layer must unwrap it.
  it("accepts the documented {data: [...]} token response", async () => {
    fake.shapeToken = (body) => ({
      data: [{ access_token: body.access_token, user_id: IG_USER_ID, permissions: PERMISSIONS }],
    });
    const code = fake.issueCode(creator, { scopes: SCOPES });
    const tokens = await exchangeTestCode(instagram, code);
    expect(tokens.accessToken).toContain("-long-");
  });

  // The code response names its scopes `permissions`; the shared protocol layer must read them as scope.
  it("records the granted permissions as scopes", async () => {
    const code = fake.issueCode(creator, { scopes: SCOPES });
    const tokens = await exchangeTestCode(instagram, code);
    expect(tokens.scopes).toEqual(PERMISSIONS.split(","));
  });

  it("refuses when the short-lived token is rejected by the exchange (code 190)", async () => {
    fake.api("GET /access_token", () => graphError(190));
    const code = fake.issueCode(creator, { scopes: SCOPES });
    const err = await exchangeTestCode(instagram, code).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
  });
});

describe("instagram profile", () => {
  it("maps /me to the professional account id and a business type", async () => {
    const grant = fake.newGrant(creator, SCOPES);
    const profile = await instagram.profile(context(), igGrant(grant.accessToken));
    expect(profile).toEqual({
      platformUserId: IG_USER_ID,
      username: "@jayposiris",
      displayName: "Jay Posiris",
      avatarUrl: "https://scontent.cdninstagram.com/jay.jpg",
      accountType: "business",
    });
    const call = fake.calls.find((c) => c.path === `/api/${GRAPH_VERSION}/me`);
    expect(call?.method).toBe("GET");
  });

  it("maps Media_Creator (and Basic Display's MEDIA_CREATOR) to creator", async () => {
    const grant = fake.newGrant(creator, SCOPES);
    instagramFake(fake, "Media_Creator");
    expect((await instagram.profile(context(), igGrant(grant.accessToken))).accountType).toBe("creator");
    instagramFake(fake, "MEDIA_CREATOR");
    expect((await instagram.profile(context(), igGrant(grant.accessToken))).accountType).toBe("creator");
  });

  it("classifies a dead token as refused and a 5xx as transient", async () => {
    const refused = await instagram.profile(context(), igGrant("IGAAdead")).catch((e) => e);
    expect(refused).toBeInstanceOf(ProviderError);
    expect(refused.kind).toBe("refused");
    expect(refused.message).not.toContain("IGAAdead");

    fake.failNext({ kind: "5xx" });
    const transient = await instagram.profile(context(), igGrant("IGAAany")).catch((e) => e);
    expect(transient.kind).toBe("transient");
  });
});

describe("instagram extend-in-place refresh", () => {
  it("refreshes a valid token in place for another 60 days, keeping extras", async () => {
    const grant = fake.newGrant(creator, SCOPES);
    const old = grant.accessToken;
    const tokens = await refreshGrant(
      context(),
      instagram,
      igGrant(old, { expiresAt: NOW + 5 * DAY, issuedAt: NOW - 55 * DAY }),
    );
    expect(tokens).toEqual({
      accessToken: grant.accessToken,
      refreshToken: null,
      expiresAt: NOW + 60 * DAY,
      scopes: PERMISSIONS.split(","),
      extras: { oauthVersion: "instagram_login" },
    });
    expect(tokens.accessToken).not.toBe(old);
    const call = fake.calls.find((c) => c.path === "/api/refresh_access_token");
    expect(call?.method).toBe("GET");
  });

  it("refuses an expired token without calling Instagram", async () => {
    const grant = fake.newGrant(creator, SCOPES);
    const err = await refreshGrant(
      context(),
      instagram,
      igGrant(grant.accessToken, { expiresAt: NOW - HOUR }),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(fake.calls).toHaveLength(0);
  });

  it("reads the expiry from extras when the grant carries none", async () => {
    const grant = fake.newGrant(creator, SCOPES);
    const err = await refreshGrant(context(), instagram, {
      accessToken: grant.accessToken,
      refreshToken: null,
      extras: { oauthVersion: "instagram_login", expiresAt: NOW },
    }).catch((e) => e);
    expect(err.kind).toBe("refused");
    expect(fake.calls).toHaveLength(0);
  });

  it("treats Graph code 190 as refused and rate limits or 5xx as transient", async () => {
    const grant = igGrant("IGAAtoken", { expiresAt: NOW + DAY });
    fake.api("GET /refresh_access_token", () => graphError(190, 400, "Session has expired"));
    expect((await refreshGrant(context(), instagram, grant).catch((e) => e)).kind).toBe("refused");

    fake.api("GET /refresh_access_token", () => graphError(4, 400, "Application request limit reached"));
    const limited = await refreshGrant(context(), instagram, grant).catch((e) => e);
    expect(limited.kind).toBe("transient");
    expect(limited.details).toMatchObject({ status: 400, code: "4" });

    fake.failNext({ kind: "5xx" });
    expect((await refreshGrant(context(), instagram, grant).catch((e) => e)).kind).toBe("transient");
  });
});
