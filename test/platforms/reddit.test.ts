import { beforeEach, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/platforms/http";
import { refreshGrant } from "../../src/platforms/oauth";
import { reddit, redditUserAgent } from "../../src/platforms/reddit";
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

const REDIRECT = redirectUriFor("reddit");
const SCOPES = ["identity", "submit", "read"];
const BASIC = `Basic ${btoa("reddit-client-id:reddit-client-secret")}`;
const context = (now = NOW) => platformTestContext("reddit", now);

/** The client id and secret in a Basic header, form-decoded (oauth4webapi form-encodes them, RFC 6749 §2.3.1). */
function basicCredentials(header: string | null | undefined): string[] {
  const encoded = header?.replace(/^Basic /, "") ?? "";
  return atob(encoded)
    .split(":")
    .map((part) => decodeURIComponent(part.replace(/\+/g, " ")));
}

let fake: FakePlatform;
beforeEach(() => {
  fake = oauthFake("reddit");
});

describe("reddit authorization URL", () => {
  it("asks for a permanent grant with space-separated scopes and no PKCE", async () => {
    expect(reddit.endpoints).toEqual({
      authorizationUrl: "https://www.reddit.com/api/v1/authorize",
      tokenUrl: "https://www.reddit.com/api/v1/access_token",
      revocationUrl: "https://www.reddit.com/api/v1/revoke_token",
      apiBaseUrl: "https://oauth.reddit.com",
    });
    const url = await authorizeUrl(reddit);
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/reddit/authorize");
    const q = url.searchParams;
    expect(q.get("client_id")).toBe("reddit-client-id");
    expect(q.get("response_type")).toBe("code");
    expect(q.get("redirect_uri")).toBe(REDIRECT);
    expect(q.get("state")).toBe("state-1");
    expect(q.get("scope")).toBe("identity submit read");
    expect(q.get("duration")).toBe("permanent");
    expect(q.has("code_challenge")).toBe(false);
  });
});

describe("reddit code exchange and refresh", () => {
  async function connect() {
    const code = fake.issueCode(
      { id: "1abc2d", username: "spez", name: "spez" },
      { scopes: SCOPES, redirectUri: REDIRECT },
    );
    return exchangeTestCode(reddit, code);
  }

  it("exchanges the code with HTTP Basic client auth", async () => {
    const tokens = await connect();
    expect(tokens.accessToken).toBe(fake.grants[0]?.accessToken);
    expect(tokens.refreshToken).toBe(fake.grants[0]?.refreshToken);
    expect(tokens.expiresAt).toBe(NOW + 3600 * 1000);
    expect(tokens.scopes).toEqual(SCOPES);
    const call = fake.calls.find((c) => c.path === "/token");
    expect(basicCredentials(call?.headers.get("authorization"))).toEqual([
      "reddit-client-id",
      "reddit-client-secret",
    ]);
    expect(new URLSearchParams(call?.body).has("client_secret")).toBe(false);
  });

  it("keeps the user name from /api/v1/me, so later calls' User-Agent ends (by /u/<username>)", async () => {
    const tokens = await connect();
    expect(tokens.extras).toEqual({ redditUsername: "spez" });
    const me = fake.calls.find((c) => c.path === "/api/api/v1/me");
    expect(me?.headers.get("authorization")).toBe(`Bearer ${tokens.accessToken}`);
    expect(redditUserAgent(context(), "spez")).toBe("web:reddit-client-id:1.0 (by /u/spez)");
  });

  it("sends the grant's user in the User-Agent of a refresh", async () => {
    const tokens = await connect();
    const grant = grantOf(tokens.accessToken, tokens.refreshToken ?? null, { extras: tokens.extras });
    await refreshGrant(context(NOW + 55 * 60 * 1000), reddit, grant);
    const call = fake.calls.filter((c) => c.path === "/token").at(-1);
    expect(new URLSearchParams(call?.body).get("grant_type")).toBe("refresh_token");
    expect(call?.headers.get("user-agent")).toBe("web:reddit-client-id:1.0 (by /u/spez)");
  });

  it("reads an error Reddit sends with HTTP 200 as a refusal", async () => {
    fake.shapeToken = () => ({ error: "invalid_grant" });
    const err = await connect().catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.details.code).toBe("invalid_grant");
  });

  it("refreshes with the permanent refresh token, sending Reddit's User-Agent", async () => {
    const tokens = await connect();
    const later = NOW + 55 * 60 * 1000;
    const refreshed = await refreshGrant(
      context(later),
      reddit,
      grantOf(tokens.accessToken, tokens.refreshToken ?? null),
    );
    expect(refreshed.accessToken).toBe(fake.grants[0]?.accessToken);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.refreshToken).toBeNull();
    expect(refreshed.expiresAt).toBe(later + 3600 * 1000);
    const call = fake.calls.filter((c) => c.path === "/token").at(-1);
    expect(new URLSearchParams(call?.body).get("grant_type")).toBe("refresh_token");
    expect(basicCredentials(call?.headers.get("authorization"))).toEqual([
      "reddit-client-id",
      "reddit-client-secret",
    ]);
    expect(call?.headers.get("user-agent")).toBe(redditUserAgent(context()));
    // Not rotated: the same refresh token works again.
    const again = await refreshGrant(context(later), reddit, grantOf("x", tokens.refreshToken ?? null));
    expect(again.accessToken).toBe(fake.grants[0]?.accessToken);
  });

  it("classifies a revoked refresh token as refused and a 5xx as transient", async () => {
    const dead = await refreshGrant(context(), reddit, grantOf("x", "revoked")).catch((e) => e);
    expect(dead).toBeInstanceOf(ProviderError);
    expect(dead.kind).toBe("refused");
    fake.failNext({ kind: "5xx" });
    const down = await refreshGrant(context(), reddit, grantOf("x", "any")).catch((e) => e);
    expect(down.kind).toBe("transient");
  });
});

describe("reddit profile", () => {
  it("maps /api/v1/me: id, u/name, title, unescaped icon, with a descriptive User-Agent", async () => {
    const grant = fake.newGrant({ id: "1abc2d", username: "spez", name: "Steve" });
    expect(await reddit.profile(context(), grantOf(grant.accessToken))).toEqual({
      platformUserId: "1abc2d",
      username: "u/spez",
      displayName: "Steve",
      avatarUrl:
        "https://styles.redditmedia.com/t5_abc/styles/profileIcon_xyz.png?width=256&height=256&crop=256:256,smart&s=0123abcd",
      accountType: "personal",
    });
    const call = fake.calls.find((c) => c.path === "/api/api/v1/me");
    expect(call?.headers.get("user-agent")).toMatch(/^web:reddit-client-id:1\.0 \(.+\)$/);
  });

  it("names the grant's user in the User-Agent once known", async () => {
    const grant = fake.newGrant({ id: "1abc2d", username: "spez", name: "Steve" });
    await reddit.profile(context(), grantOf(grant.accessToken, null, { extras: { redditUsername: "spez" } }));
    const call = fake.calls.find((c) => c.path === "/api/api/v1/me");
    expect(call?.headers.get("user-agent")).toBe("web:reddit-client-id:1.0 (by /u/spez)");
  });

  it("falls back to the name when the profile has no title", async () => {
    fake.api("GET /api/v1/me", () =>
      Response.json({ id: "1abc2d", name: "spez", icon_img: "", subreddit: { title: "" } }),
    );
    const grant = fake.newGrant({ id: "1abc2d", username: "spez", name: "" });
    const profile = await reddit.profile(context(), grantOf(grant.accessToken));
    expect(profile.displayName).toBe("spez");
    expect(profile.avatarUrl).toBeNull();
  });

  it("classifies a revoked token as refused and a 5xx as transient", async () => {
    const revoked = await reddit.profile(context(), grantOf("revoked")).catch((e) => e);
    expect(revoked).toBeInstanceOf(ProviderError);
    expect(revoked.kind).toBe("refused");
    const grant = fake.newGrant({ id: "1abc2d", username: "spez", name: "Steve" });
    fake.failNext({ kind: "5xx" });
    const down = await reddit.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(down.kind).toBe("transient");
  });
});

describe("reddit revoke", () => {
  it("revokes the refresh token, then the access token, with Basic auth and a type hint", async () => {
    const grant = fake.newGrant({ id: "1abc2d", username: "spez", name: "Steve" });
    const { accessToken, refreshToken } = grant;
    await reddit.revoke?.(context(), grantOf(accessToken, refreshToken));
    const calls = fake.calls.filter((c) => c.path === "/revoke");
    expect(calls.map((c) => Object.fromEntries(new URLSearchParams(c.body)))).toEqual([
      { token: refreshToken, token_type_hint: "refresh_token" },
      { token: accessToken, token_type_hint: "access_token" },
    ]);
    expect(calls[0]?.headers.get("authorization")).toBe(BASIC);
    expect(calls[0]?.headers.get("user-agent")).toBe(redditUserAgent(context()));
    expect(grant.revoked).toBe(true);
  });

  it("names the grant's user in the User-Agent of both revocations", async () => {
    const grant = fake.newGrant({ id: "1abc2d", username: "spez", name: "Steve" });
    const extras = { redditUsername: "spez" };
    await reddit.revoke?.(context(), grantOf(grant.accessToken, grant.refreshToken, { extras }));
    const agents = fake.calls.filter((c) => c.path === "/revoke").map((c) => c.headers.get("user-agent"));
    expect(agents).toEqual([
      "web:reddit-client-id:1.0 (by /u/spez)",
      "web:reddit-client-id:1.0 (by /u/spez)",
    ]);
  });

  it("accepts Reddit's 204 and surfaces a 5xx as transient", async () => {
    const grant = fake.newGrant({ id: "1abc2d", username: "spez", name: "Steve" });
    fake.failNext({ kind: "5xx" });
    const err = await reddit.revoke?.(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("transient");
  });
});
