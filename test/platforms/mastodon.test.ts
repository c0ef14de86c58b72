import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { ProviderError, timedFetch } from "../../src/platforms/http";
import { instanceEndpoints, mastodon, normaliseInstance, registerApp } from "../../src/platforms/mastodon";
import { buildAuthorizationUrl, exchangeCode, refreshGrant } from "../../src/platforms/oauth";
import type { PlatformContext } from "../../src/platforms/types";
import { type FakePlatform, fakePlatform } from "../helpers/fake-provider";

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const REDIRECT = "https://switchboard.test/v1/oauth/redirect/mastodon";
const VERIFIER = "mastodon-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
const vars = env as unknown as { PROVIDER_OVERRIDES: string };

/**
 * What platformContext builds for one instance: its endpoints (here the fake, as PROVIDER_OVERRIDES
 * wins) and the app credentials registered on it.
 */
function context(app = { clientId: "", clientSecret: "" }, now = NOW): PlatformContext {
  return {
    platform: "mastodon",
    endpoints: {
      ...mastodon.endpoints,
      ...instanceEndpoints("https://mastodon.social"),
      ...JSON.parse(vars.PROVIDER_OVERRIDES).mastodon,
    },
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    allowHttp: true,
    fetch: timedFetch(),
    now,
  };
}

const APP = {
  clientId: "TWhM-tNSuncnqN7DBJmoyeLnk6K3iJJ71KKXxgL1hPM",
  clientSecret: "ZEaFUFmF0umgBX1qKJDjaU99Q31lDkOU8NutzTOoliw",
};
const grantOf = (
  accessToken: string,
  extras: Record<string, unknown> = { instance: "https://mastodon.social" },
) => ({
  accessToken,
  refreshToken: null,
  extras,
});
const gargron = {
  id: "1",
  username: "Gargron",
  name: "Eugen Rochko",
  avatarUrl: "https://files.mastodon.social/accounts/avatars/000/000/001/original/a.png",
};

let fake: FakePlatform;
let bot = false;
beforeEach(() => {
  fake = fakePlatform("mastodon");
  fake.clientAuth = "post";
  fake.rotating = false;
  fake.accessTtlSeconds = null;
  bot = false;
  // Mastodon's token response: no expiry, no refresh token, created_at.
  fake.shapeToken = ({ refresh_token, ...body }) => ({
    ...body,
    token_type: "Bearer",
    created_at: 1_795_000_000,
  });
  fake.api("POST /api/v1/apps", async ({ request }) => {
    const form = new URLSearchParams(await request.text());
    return Response.json({
      id: "563419",
      name: form.get("client_name"),
      website: form.get("website"),
      scopes: (form.get("scopes") ?? "").split(" "),
      redirect_uri: form.get("redirect_uris"),
      redirect_uris: [form.get("redirect_uris")],
      vapid_key: "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M=",
      client_id: APP.clientId,
      client_secret: APP.clientSecret,
      client_secret_expires_at: 0,
    });
  });
  fake.api("GET /api/v1/accounts/verify_credentials", ({ grant }) =>
    grant
      ? Response.json({
          id: grant.profile.id,
          username: grant.profile.username,
          acct: grant.profile.username,
          display_name: grant.profile.name,
          locked: false,
          bot,
          created_at: "2016-03-16T00:00:00.000Z",
          url: `https://mastodon.social/@${grant.profile.username}`,
          avatar: grant.profile.avatarUrl,
          avatar_static: grant.profile.avatarUrl,
          followers_count: 1,
          following_count: 1,
          statuses_count: 1,
          source: { privacy: "public", sensitive: false, language: "", note: "", fields: [] },
        })
      : Response.json({ error: "The access token is invalid" }, { status: 401 }),
  );
});

describe("normaliseInstance", () => {
  it.each([
    ["mastodon.social", "https://mastodon.social"],
    ["https://mastodon.social/", "https://mastodon.social"],
    ["MASTODON.social", "https://mastodon.social"],
    ["  HTTPS://Mastodon.Social  ", "https://mastodon.social"],
    ["mastodon.social:443", "https://mastodon.social"],
    ["social.example.co.uk", "https://social.example.co.uk"],
    ["bücher.example", "https://xn--bcher-kva.example"],
  ])("accepts %s", (input, origin) => {
    expect(normaliseInstance(input)).toBe(origin);
  });

  it.each([
    ["", /empty/],
    ["http://mastodon.social", /https/],
    ["ftp://mastodon.social", /https/],
    ["mastodon.social/@Gargron", /path/],
    ["https://mastodon.social/api", /path/],
    ["mastodon.social?x=1", /query/],
    ["mastodon.social#top", /fragment/],
    ["user:secret@mastodon.social", /user name/],
    ["@Gargron@mastodon.social", /user name/],
    ["mastodon.social:8443", /port/],
    ["127.0.0.1", /IP address/],
    ["0x7f.1", /IP address/],
    ["[::1]", /IP address/],
    ["localhost", /host name/],
    ["mastodon social", /host name/],
    ["-bad-.social", /host name/],
    ["mastodon.123", /host name/],
    ["a..b", /host name/],
  ])("rejects %j", (input, message) => {
    expect(() => normaliseInstance(input)).toThrow(message);
  });

  it("never repeats the input in its message", () => {
    expect(() => normaliseInstance("user:hunter2@mastodon.social")).toThrow(/^(?!.*hunter2)/);
  });
});

describe("mastodon endpoints and app registration", () => {
  it("derives every endpoint from the instance origin", () => {
    expect(instanceEndpoints("https://fosstodon.org")).toEqual({
      authorizationUrl: "https://fosstodon.org/oauth/authorize",
      tokenUrl: "https://fosstodon.org/oauth/token",
      revocationUrl: "https://fosstodon.org/oauth/revoke",
      apiBaseUrl: "https://fosstodon.org",
    });
    expect(mastodon.needsClientCredentials).toBe(false);
    expect(mastodon.refresh).toEqual({ kind: "none" });
  });

  it("registers an app with POST /api/v1/apps", async () => {
    const app = await registerApp(context(), {
      redirectUri: REDIRECT,
      scopes: mastodon.oauth?.scopes ?? [],
      website: "https://switchboard.test",
    });
    expect(app).toEqual(APP);
    const call = fake.calls.at(-1);
    expect(call?.method).toBe("POST");
    expect(call?.path).toBe("/api/api/v1/apps");
    const form = new URLSearchParams(call?.body);
    expect(form.get("client_name")).toBe("Switchboard");
    expect(form.get("redirect_uris")).toBe(REDIRECT);
    expect(form.get("scopes")).toBe("read:accounts write:statuses write:media");
    expect(form.get("website")).toBe("https://switchboard.test");
  });

  it("treats a failed registration as a ProviderError", async () => {
    fake.failNext({ kind: "5xx" });
    const err = await registerApp(context(), { redirectUri: REDIRECT, scopes: ["read"] }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("transient");
  });
});

describe("mastodon OAuth", () => {
  it("builds the authorization URL with the instance app's client id and PKCE S256", async () => {
    const url = new URL(
      await buildAuthorizationUrl(context(APP), mastodon, {
        state: "s1",
        codeVerifier: VERIFIER,
        redirectUri: REDIRECT,
      }),
    );
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/mastodon/authorize");
    expect(url.searchParams.get("client_id")).toBe(APP.clientId);
    expect(url.searchParams.get("scope")).toBe("read:accounts write:statuses write:media");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("exchanges the code with the PKCE verifier; the token does not expire", async () => {
    const url = new URL(
      await buildAuthorizationUrl(context(APP), mastodon, {
        state: "s1",
        codeVerifier: VERIFIER,
        redirectUri: REDIRECT,
      }),
    );
    const code = fake.issueCode(gargron, {
      scopes: ["read:accounts", "write:statuses", "write:media"],
      challenge: url.searchParams.get("code_challenge") ?? undefined,
      redirectUri: REDIRECT,
    });
    const tokens = await exchangeCode(context(APP), mastodon, {
      code,
      codeVerifier: VERIFIER,
      redirectUri: REDIRECT,
    });
    const form = new URLSearchParams(fake.calls.at(-1)?.body);
    expect(form.get("client_id")).toBe(APP.clientId);
    expect(form.get("client_secret")).toBe(APP.clientSecret);
    expect(form.get("code_verifier")).toBe(VERIFIER);
    expect(tokens).toEqual({
      accessToken: fake.grants[0]?.accessToken,
      refreshToken: null,
      expiresAt: null,
      refreshTokenExpiresAt: null,
      scopes: ["read:accounts", "write:statuses", "write:media"],
    });
  });

  it("refuses a code exchanged with the wrong verifier", async () => {
    const code = fake.issueCode(gargron, { challenge: "not-the-challenge" });
    const err = await exchangeCode(context(APP), mastodon, {
      code,
      codeVerifier: VERIFIER,
      redirectUri: REDIRECT,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
  });

  it("has nothing to refresh", async () => {
    const err = await refreshGrant(context(APP), mastodon, grantOf("t")).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
  });
});

describe("mastodon profile", () => {
  it("maps verify_credentials with the instance in the handle", async () => {
    const grant = fake.newGrant(gargron);
    const profile = await mastodon.profile(context(APP), grantOf(grant.accessToken));
    expect(fake.calls.at(-1)?.path).toBe("/api/api/v1/accounts/verify_credentials");
    expect(profile).toEqual({
      platformUserId: "1",
      username: "@Gargron@mastodon.social",
      displayName: "Eugen Rochko",
      avatarUrl: gargron.avatarUrl,
      accountType: "personal",
    });
  });

  it("marks bot accounts and falls back to the API host without a stored instance", async () => {
    bot = true;
    const grant = fake.newGrant({ id: "42", username: "newsbot", name: "" });
    const profile = await mastodon.profile(context(APP), grantOf(grant.accessToken, {}));
    expect(profile.accountType).toBe("bot");
    expect(profile.username).toBe("@newsbot@fake.test");
    expect(profile.displayName).toBe("newsbot");
  });

  it("refuses a revoked token and keeps 5xx transient", async () => {
    const refused = await mastodon.profile(context(APP), grantOf("revoked")).catch((e) => e);
    expect(refused).toBeInstanceOf(ProviderError);
    expect(refused.kind).toBe("refused");
    const grant = fake.newGrant(gargron);
    fake.failNext({ kind: "5xx" });
    const transient = await mastodon.profile(context(APP), grantOf(grant.accessToken)).catch((e) => e);
    expect(transient.kind).toBe("transient");
  });
});

describe("mastodon revoke", () => {
  it("revokes the token at /oauth/revoke with the instance app's credentials (RFC 7009)", async () => {
    const grant = fake.newGrant(gargron);
    await mastodon.revoke?.(context(APP), grantOf(grant.accessToken));
    const call = fake.calls.at(-1);
    expect(call?.path).toBe("/revoke");
    const form = new URLSearchParams(call?.body);
    expect(form.get("token")).toBe(grant.accessToken);
    expect(form.get("client_id")).toBe(APP.clientId);
    expect(form.get("client_secret")).toBe(APP.clientSecret);
    expect(grant.revoked).toBe(true);
    const err = await mastodon.profile(context(APP), grantOf(grant.accessToken)).catch((e) => e);
    expect(err.kind).toBe("refused");
  });
});
