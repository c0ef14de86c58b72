import { beforeEach, describe, expect, it } from "vitest";
import { DAY, HOUR } from "../../src/lib/time";
import { ProviderError } from "../../src/platforms/http";
import { refreshGrant } from "../../src/platforms/oauth";
import { threads } from "../../src/platforms/threads";
import type { FakeGrant, FakePlatform } from "../helpers/fake-provider";
import {
  authorizeUrl,
  exchangeTestCode,
  grantOf,
  NOW,
  platformTestContext,
  redirectUriFor,
} from "../helpers/platform-context";
import { graphError, oauthFake } from "../helpers/platform-fakes";

const REDIRECT = redirectUriFor("threads");
const context = (now = NOW) => platformTestContext("threads", now);

const author = {
  id: "25000000000000001",
  username: "voxburst",
  name: "Vox Burst",
  avatarUrl: "https://scontent.cdninstagram.com/vox.jpg",
};

let fake: FakePlatform;
beforeEach(() => {
  fake = oauthFake("threads");
});

describe("threads authorization URL", () => {
  it("sends comma-separated Threads scopes and no PKCE", async () => {
    const url = await authorizeUrl(threads);
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/threads/authorize");
    expect(url.searchParams.get("client_id")).toBe("threads-client-id");
    expect(url.searchParams.get("scope")).toBe(
      "threads_basic,threads_content_publish,threads_manage_insights",
    );
    expect(url.searchParams.get("response_type")).toBe("code");
    expect(url.searchParams.get("redirect_uri")).toBe(REDIRECT);
    expect(url.searchParams.get("state")).toBe("state-1");
    expect(url.searchParams.has("code_challenge")).toBe(false);
    expect(url.searchParams.has("code_challenge_method")).toBe(false);
  });

  it("authorizes on threads.com (the current docs' host), calls graph.threads.net and extends in place", () => {
    expect(threads.endpoints).toEqual({
      authorizationUrl: "https://threads.com/oauth/authorize",
      tokenUrl: "https://graph.threads.net/oauth/access_token",
      apiBaseUrl: "https://graph.threads.net",
    });
    expect(threads.refresh).toEqual({ kind: "extend-in-place", leadMs: 7 * DAY, minAgeMs: DAY });
    expect(threads.revoke).toBeUndefined();
  });
});

describe("threads code exchange", () => {
  it("posts client credentials without PKCE, then exchanges for a 60-day token", async () => {
    const code = fake.issueCode(author, { redirectUri: REDIRECT });
    const tokens = await exchangeTestCode(threads, code);

    const tokenRequest = new URLSearchParams(fake.calls.find((c) => c.path === "/token")?.body);
    expect(tokenRequest.get("client_id")).toBe("threads-client-id");
    expect(tokenRequest.get("client_secret")).toBe("threads-client-secret");
    expect(tokenRequest.get("grant_type")).toBe("authorization_code");
    expect(tokenRequest.has("code_verifier")).toBe(false);

    expect(fake.calls.find((c) => c.path === "/api/access_token")?.method).toBe("GET");
    const grant = fake.grants[0] as FakeGrant;
    expect(tokens).toEqual({
      accessToken: grant.accessToken,
      refreshToken: null,
      expiresAt: NOW + 5183944 * 1000,
    });
    expect(grant.accessToken).toContain("-long-");
  });

  it("refuses when the exchange rejects the short-lived token (code 190)", async () => {
    fake.api("GET /access_token", () => graphError(190));
    const code = fake.issueCode(author);
    const err = await exchangeTestCode(threads, code).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
  });

  it("treats a rate-limited exchange (code 4) as transient", async () => {
    fake.api("GET /access_token", () => graphError(4, 400, "Application request limit reached"));
    const code = fake.issueCode(author);
    const err = await exchangeTestCode(threads, code).catch((e) => e);
    expect(err.kind).toBe("transient");
  });
});

describe("threads profile", () => {
  it("maps /v1.0/me", async () => {
    const grant = fake.newGrant(author);
    const profile = await threads.profile(context(), grantOf(grant.accessToken));
    expect(profile).toEqual({
      platformUserId: "25000000000000001",
      username: "@voxburst",
      displayName: "Vox Burst",
      avatarUrl: "https://scontent.cdninstagram.com/vox.jpg",
      accountType: "personal",
    });
  });

  it("classifies a dead token as refused and a 5xx as transient", async () => {
    const refused = await threads.profile(context(), grantOf("THAAdead")).catch((e) => e);
    expect(refused).toBeInstanceOf(ProviderError);
    expect(refused.kind).toBe("refused");

    fake.failNext({ kind: "5xx" });
    const transient = await threads.profile(context(), grantOf("THAAany")).catch((e) => e);
    expect(transient.kind).toBe("transient");
  });
});

describe("threads extend-in-place refresh", () => {
  it("refreshes a valid token in place", async () => {
    const grant = fake.newGrant(author);
    const old = grant.accessToken;
    const tokens = await refreshGrant(context(), threads, grantOf(old, null, { expiresAt: NOW + 6 * DAY }));
    expect(tokens).toEqual({
      accessToken: grant.accessToken,
      refreshToken: null,
      expiresAt: NOW + 5183944 * 1000,
      extras: {},
    });
    expect(tokens.accessToken).not.toBe(old);
    const call = fake.calls.find((c) => c.path === "/api/refresh_access_token");
    expect(call?.method).toBe("GET");
  });

  it("refuses an expired token without calling Threads", async () => {
    const grant = fake.newGrant(author);
    const err = await refreshGrant(
      context(),
      threads,
      grantOf(grant.accessToken, null, { expiresAt: NOW - HOUR }),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(fake.calls).toHaveLength(0);
  });

  it("treats Graph code 190 as refused and rate limits as transient", async () => {
    const grant = grantOf("THAAtoken", null, { expiresAt: NOW + DAY });
    fake.api("GET /refresh_access_token", () => graphError(190));
    expect((await refreshGrant(context(), threads, grant).catch((e) => e)).kind).toBe("refused");

    fake.api("GET /refresh_access_token", () =>
      graphError(613, 400, "Calls to this api have exceeded the rate limit."),
    );
    expect((await refreshGrant(context(), threads, grant).catch((e) => e)).kind).toBe("transient");
  });
});
