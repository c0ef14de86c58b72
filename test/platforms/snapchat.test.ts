import { beforeEach, describe, expect, it } from "vitest";
import { HOUR } from "../../src/lib/time";
import { ProviderError } from "../../src/platforms/http";
import { refreshGrant } from "../../src/platforms/oauth";
import { snapchat } from "../../src/platforms/snapchat";
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

const REDIRECT = redirectUriFor("snapchat");
const context = (now = NOW) => platformTestContext("snapchat", now);

const member = { id: "a22b5575-9052-437e-96c1-db781d62d203", username: "honey_badger", name: "Honey Badger" };

let fake: FakePlatform;
beforeEach(() => {
  fake = oauthFake("snapchat");
});

describe("snapchat authorization URL", () => {
  it("sends client_id, the marketing and Public Profile scopes and no PKCE", async () => {
    const url = await authorizeUrl(snapchat);
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/snapchat/authorize");
    expect(url.searchParams.get("client_id")).toBe("snapchat-client-id");
    expect(url.searchParams.get("scope")).toBe("snapchat-marketing-api snapchat-profile-api");
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
    const tokens = await exchangeTestCode(snapchat, code);
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
    const err = await exchangeTestCode(snapchat, "nope").catch((e) => e);
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
