import { beforeEach, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/platforms/http";
import { refreshGrant } from "../../src/platforms/oauth";
import { youtube } from "../../src/platforms/youtube";
import type { FakePlatform } from "../helpers/fake-provider";
import {
  authorizeUrl,
  exchangeTestCode,
  grantOf,
  NOW,
  platformTestContext,
  redirectUriFor,
} from "../helpers/platform-context";
import { googleError, oauthFake } from "../helpers/platform-fakes";

const REDIRECT = redirectUriFor("youtube");
const VERIFIER = "youtube-verifier-0123456789-0123456789-0123456789";
const SCOPES = [
  "https://www.googleapis.com/auth/youtube.upload",
  "https://www.googleapis.com/auth/youtube.readonly",
  "https://www.googleapis.com/auth/yt-analytics.readonly",
];
const context = (now = NOW) => platformTestContext("youtube", now);

let fake: FakePlatform;
beforeEach(() => {
  fake = oauthFake("youtube");
});

describe("youtube authorization URL", () => {
  it("asks Google for offline access with consent, PKCE S256 and full-URL scopes", async () => {
    expect(youtube.endpoints.authorizationUrl).toBe("https://accounts.google.com/o/oauth2/v2/auth");
    expect(youtube.endpoints.tokenUrl).toBe("https://oauth2.googleapis.com/token");
    expect(youtube.endpoints.revocationUrl).toBe("https://oauth2.googleapis.com/revoke");
    expect(youtube.endpoints.apiBaseUrl).toBe("https://www.googleapis.com");
    const url = await authorizeUrl(youtube, { codeVerifier: VERIFIER });
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/youtube/authorize");
    const q = url.searchParams;
    expect(q.get("client_id")).toBe("youtube-client-id");
    expect(q.get("response_type")).toBe("code");
    expect(q.get("redirect_uri")).toBe(REDIRECT);
    expect(q.get("state")).toBe("state-1");
    expect(q.get("scope")?.split(" ")).toEqual(SCOPES);
    expect(q.get("access_type")).toBe("offline");
    expect(q.get("prompt")).toBe("consent");
    expect(q.get("include_granted_scopes")).toBe("true");
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("shows the consent screen whether or not forcePrompt is asked", async () => {
    const url = await authorizeUrl(youtube, { state: "s", codeVerifier: VERIFIER, forcePrompt: false });
    expect(url.searchParams.get("prompt")).toBe("consent");
  });
});

describe("youtube code exchange and refresh", () => {
  async function connect() {
    const authorize = await authorizeUrl(youtube, { state: "s", codeVerifier: VERIFIER });
    const code = fake.issueCode(
      { id: "UCabc123", username: "@switchboard", name: "Switchboard" },
      {
        scopes: SCOPES,
        redirectUri: REDIRECT,
        challenge: authorize.searchParams.get("code_challenge") ?? "",
      },
    );
    return exchangeTestCode(youtube, code, { codeVerifier: VERIFIER });
  }

  it("exchanges the code with the PKCE verifier and client_secret_post", async () => {
    const tokens = await connect();
    const [grant] = fake.grants;
    expect(tokens.accessToken).toBe(grant?.accessToken);
    expect(tokens.refreshToken).toBe(grant?.refreshToken);
    expect(tokens.expiresAt).toBe(NOW + 3599 * 1000);
    expect(tokens.scopes).toEqual(SCOPES);
    const body = new URLSearchParams(fake.calls.find((c) => c.path === "/token")?.body);
    expect(body.get("client_secret")).toBe("youtube-client-secret");
    expect(body.get("code_verifier")).toBe(VERIFIER);
  });

  it("refuses a wrong PKCE verifier", async () => {
    const code = fake.issueCode(
      { id: "UCabc123", username: "@switchboard", name: "Switchboard" },
      { scopes: SCOPES, redirectUri: REDIRECT, challenge: "not-the-challenge" },
    );
    const err = await exchangeTestCode(youtube, code, { codeVerifier: VERIFIER }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
  });

  it("refreshes with the same refresh token; Google sends no new one", async () => {
    const tokens = await connect();
    const later = NOW + 50 * 60 * 1000;
    const refreshed = await refreshGrant(
      context(later),
      youtube,
      grantOf(tokens.accessToken, tokens.refreshToken ?? null),
    );
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.accessToken).toBe(fake.grants[0]?.accessToken);
    expect(refreshed.refreshToken).toBeNull();
    expect(refreshed.expiresAt).toBe(later + 3599 * 1000);
    // Non-rotating: the stored refresh token still works.
    const again = await refreshGrant(context(later), youtube, grantOf("x", tokens.refreshToken ?? null));
    expect(again.accessToken).toBe(fake.grants[0]?.accessToken);
    expect(youtube.refresh).toEqual({ kind: "non-rotating", leadMs: 10 * 60 * 1000 });
  });

  it("classifies invalid_grant as refused and a 5xx as transient", async () => {
    const dead = await refreshGrant(context(), youtube, grantOf("x", "revoked-rt")).catch((e) => e);
    expect(dead).toBeInstanceOf(ProviderError);
    expect(dead.kind).toBe("refused");
    fake.failNext({ kind: "5xx" });
    const down = await refreshGrant(context(), youtube, grantOf("x", "any-rt")).catch((e) => e);
    expect(down).toBeInstanceOf(ProviderError);
    expect(down.kind).toBe("transient");
  });
});

describe("youtube profile", () => {
  it("maps the channel: id, customUrl handle, title, largest thumbnail", async () => {
    const grant = fake.newGrant({ id: "UCabc123", username: "@switchboard", name: "Switchboard" });
    const profile = await youtube.profile(context(), grantOf(grant.accessToken));
    expect(profile).toEqual({
      platformUserId: "UCabc123",
      username: "@switchboard",
      displayName: "Switchboard",
      avatarUrl: "https://yt3.ggpht.com/UCabc123=s800-c-k-c0x00ffffff-no-rj",
      accountType: "channel",
    });
  });

  it("answers invalid with a clear message when the account has no channel", async () => {
    fake.api("GET /youtube/v3/channels", () =>
      Response.json({
        kind: "youtube#channelListResponse",
        etag: "etag-3",
        pageInfo: { totalResults: 0, resultsPerPage: 5 },
      }),
    );
    const grant = fake.newGrant({ id: "none", username: "", name: "" });
    const err = await youtube.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("invalid");
    expect(err.message).toMatch(/no YouTube channel/);
  });

  it("classifies a revoked token as refused", async () => {
    const err = await youtube.profile(context(), grantOf("revoked")).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.details.status).toBe(401);
  });

  it("classifies a 5xx as transient", async () => {
    const grant = fake.newGrant({ id: "UCabc123", username: "@switchboard", name: "Switchboard" });
    fake.failNext({ kind: "5xx" });
    const err = await youtube.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("transient");
  });

  it("treats a 403 for exhausted quota as transient, other 403s as refused", async () => {
    const grant = fake.newGrant({ id: "UCabc123", username: "@switchboard", name: "Switchboard" });
    fake.api("GET /youtube/v3/channels", () =>
      googleError(
        403,
        "PERMISSION_DENIED",
        "quotaExceeded",
        "The request cannot be completed because you have exceeded your quota.",
      ),
    );
    const quota = await youtube.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(quota).toBeInstanceOf(ProviderError);
    expect(quota.kind).toBe("transient");
    expect(quota.details.code).toBe("quotaExceeded");
    fake.api("GET /youtube/v3/channels", () =>
      googleError(
        403,
        "PERMISSION_DENIED",
        "insufficientPermissions",
        "Request had insufficient authentication scopes.",
      ),
    );
    const scope = await youtube.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(scope.kind).toBe("refused");
  });
});

describe("youtube revoke", () => {
  it("posts the refresh token to Google's revoke endpoint, which ends the grant", async () => {
    const grant = fake.newGrant({ id: "UCabc123", username: "@switchboard", name: "Switchboard" });
    await youtube.revoke?.(context(), grantOf(grant.accessToken, grant.refreshToken));
    const call = fake.calls.find((c) => c.path === "/revoke");
    expect(call?.method).toBe("POST");
    expect(Object.fromEntries(new URLSearchParams(call?.body))).toEqual({ token: grant.refreshToken });
    expect(grant.revoked).toBe(true);
    const err = await youtube.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(err.kind).toBe("refused");
  });

  it("revokes the access token when no refresh token is stored", async () => {
    const grant = fake.newGrant({ id: "UCabc123", username: "@switchboard", name: "Switchboard" });
    await youtube.revoke?.(context(), grantOf(grant.accessToken));
    expect(new URLSearchParams(fake.calls.at(-1)?.body).get("token")).toBe(grant.accessToken);
    expect(grant.revoked).toBe(true);
  });
});
