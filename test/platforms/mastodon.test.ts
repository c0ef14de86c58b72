import { beforeEach, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/platforms/http";
import { instanceEndpoints, mastodon, normaliseInstance, registerApp } from "../../src/platforms/mastodon";
import { refreshGrant } from "../../src/platforms/oauth";
import type { FakePlatform } from "../helpers/fake-provider";
import {
  authorizeUrl,
  exchangeTestCode,
  grantOf,
  NOW,
  platformTestContext,
  redirectUriFor,
} from "../helpers/platform-context";
import { MASTODON_APP as APP, mastodonFake, oauthFake } from "../helpers/platform-fakes";

const REDIRECT = redirectUriFor("mastodon");
const VERIFIER = "mastodon-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

/**
 * What the catalogue builds for one instance: its endpoints (here the fake, as PROVIDER_OVERRIDES
 * wins) and the app credentials registered on it.
 */
const context = (app = { clientId: "", clientSecret: "" }, now = NOW) =>
  platformTestContext("mastodon", now, { endpoints: instanceEndpoints("https://mastodon.social"), ...app });

/** A grant as stored for a Mastodon account, with the instance it lives on. */
const instanceGrant = (
  accessToken: string,
  extras: Record<string, unknown> = { instance: "https://mastodon.social" },
) => grantOf(accessToken, null, { extras });

const gargron = {
  id: "1",
  username: "Gargron",
  name: "Eugen Rochko",
  avatarUrl: "https://files.mastodon.social/accounts/avatars/000/000/001/original/a.png",
};

let fake: FakePlatform;
beforeEach(() => {
  fake = oauthFake("mastodon");
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
    const url = await authorizeUrl(mastodon, { state: "s1", codeVerifier: VERIFIER }, context(APP));
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/mastodon/authorize");
    expect(url.searchParams.get("client_id")).toBe(APP.clientId);
    expect(url.searchParams.get("scope")).toBe("read:accounts write:statuses write:media");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("exchanges the code with the PKCE verifier; the token does not expire", async () => {
    const url = await authorizeUrl(mastodon, { state: "s1", codeVerifier: VERIFIER }, context(APP));
    const code = fake.issueCode(gargron, {
      scopes: ["read:accounts", "write:statuses", "write:media"],
      challenge: url.searchParams.get("code_challenge") ?? undefined,
      redirectUri: REDIRECT,
    });
    const tokens = await exchangeTestCode(mastodon, code, { codeVerifier: VERIFIER }, context(APP));
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
    const err = await exchangeTestCode(mastodon, code, { codeVerifier: VERIFIER }, context(APP)).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
  });

  it("has nothing to refresh", async () => {
    const err = await refreshGrant(context(APP), mastodon, instanceGrant("t")).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
  });
});

describe("mastodon profile", () => {
  it("maps verify_credentials with the instance in the handle", async () => {
    const grant = fake.newGrant(gargron);
    const profile = await mastodon.profile(context(APP), instanceGrant(grant.accessToken));
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
    mastodonFake(fake, { bot: true });
    const grant = fake.newGrant({ id: "42", username: "newsbot", name: "" });
    const profile = await mastodon.profile(context(APP), instanceGrant(grant.accessToken, {}));
    expect(profile.accountType).toBe("bot");
    expect(profile.username).toBe("@newsbot@fake.test");
    expect(profile.displayName).toBe("newsbot");
  });

  it("refuses a revoked token and keeps 5xx transient", async () => {
    const refused = await mastodon.profile(context(APP), instanceGrant("revoked")).catch((e) => e);
    expect(refused).toBeInstanceOf(ProviderError);
    expect(refused.kind).toBe("refused");
    const grant = fake.newGrant(gargron);
    fake.failNext({ kind: "5xx" });
    const transient = await mastodon.profile(context(APP), instanceGrant(grant.accessToken)).catch((e) => e);
    expect(transient.kind).toBe("transient");
  });
});

describe("mastodon revoke", () => {
  it("revokes the token at /oauth/revoke with the instance app's credentials (RFC 7009)", async () => {
    const grant = fake.newGrant(gargron);
    await mastodon.revoke?.(context(APP), instanceGrant(grant.accessToken));
    const call = fake.calls.at(-1);
    expect(call?.path).toBe("/revoke");
    const form = new URLSearchParams(call?.body);
    expect(form.get("token")).toBe(grant.accessToken);
    expect(form.get("client_id")).toBe(APP.clientId);
    expect(form.get("client_secret")).toBe(APP.clientSecret);
    expect(grant.revoked).toBe(true);
    const err = await mastodon.profile(context(APP), instanceGrant(grant.accessToken)).catch((e) => e);
    expect(err.kind).toBe("refused");
  });
});
