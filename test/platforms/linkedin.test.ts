import { beforeEach, describe, expect, it } from "vitest";
import { DAY } from "../../src/lib/time";
import { ProviderError } from "../../src/platforms/http";
import { linkedin } from "../../src/platforms/linkedin";
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
import { linkedinFake, oauthFake } from "../helpers/platform-fakes";

const REDIRECT = redirectUriFor("linkedin");
const MEMBER = ["openid", "profile", "w_member_social"];
const context = (now = NOW) => platformTestContext("linkedin", now);

let fake: FakePlatform;
beforeEach(() => {
  fake = oauthFake("linkedin");
});

describe("linkedin authorization URL", () => {
  it("asks for the member scopes, space-separated, without PKCE", async () => {
    expect(linkedin.endpoints).toEqual({
      authorizationUrl: "https://www.linkedin.com/oauth/v2/authorization",
      tokenUrl: "https://www.linkedin.com/oauth/v2/accessToken",
      revocationUrl: "https://www.linkedin.com/oauth/v2/revoke",
      apiBaseUrl: "https://api.linkedin.com",
    });
    const url = await authorizeUrl(linkedin);
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/linkedin/authorize");
    const q = url.searchParams;
    expect(q.get("client_id")).toBe("linkedin-client-id");
    expect(q.get("response_type")).toBe("code");
    expect(q.get("redirect_uri")).toBe(REDIRECT);
    expect(q.get("state")).toBe("state-1");
    expect(q.get("scope")).toBe("openid profile w_member_social");
    expect(q.has("code_challenge")).toBe(false);
    expect(q.has("code_challenge_method")).toBe(false);
  });

  it("adds the organisation scopes in page mode", async () => {
    const url = await authorizeUrl(linkedin, { state: "s", pageMode: true });
    expect(url.searchParams.get("scope")?.split(" ")).toEqual([
      ...MEMBER,
      "r_organization_social",
      "w_organization_social",
      "rw_organization_admin",
    ]);
  });
});

describe("linkedin code exchange and refresh", () => {
  it("exchanges the code with client_secret_post; no refresh token outside the partner programme", async () => {
    linkedinFake(fake, { partner: false });
    const code = fake.issueCode(
      { id: "782bbtaQ", username: "jane", name: "Jane Doe" },
      { scopes: MEMBER, redirectUri: REDIRECT },
    );
    const tokens = await exchangeTestCode(linkedin, code);
    expect(tokens.accessToken).toBe(fake.grants[0]?.accessToken);
    expect(tokens.refreshToken).toBeNull();
    expect(tokens.expiresAt).toBe(NOW + 5_183_999 * 1000);
    expect(tokens.scopes).toEqual(MEMBER);
    const body = new URLSearchParams(fake.calls.find((c) => c.path === "/token")?.body);
    expect(body.get("client_id")).toBe("linkedin-client-id");
    expect(body.get("client_secret")).toBe("linkedin-client-secret");
    expect(body.has("code_verifier")).toBe(false);

    // Without a refresh token the account simply cannot refresh.
    const err = await refreshGrant(
      context(),
      linkedin,
      grantOf(tokens.accessToken, tokens.refreshToken ?? null),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(fake.refreshRequests).toBe(0);
  });

  it("refreshes a partner grant, keeping the same refresh token and its 365-day limit", async () => {
    const code = fake.issueCode(
      { id: "782bbtaQ", username: "jane", name: "Jane Doe" },
      { scopes: MEMBER, redirectUri: REDIRECT },
    );
    const tokens = await exchangeTestCode(linkedin, code);
    expect(tokens.refreshToken).toBe(fake.grants[0]?.refreshToken);
    expect(tokens.refreshTokenExpiresAt).toBe(NOW + 31_535_999 * 1000);

    const later = NOW + 53 * DAY;
    const refreshed = await refreshGrant(
      context(later),
      linkedin,
      grantOf(tokens.accessToken, tokens.refreshToken ?? null),
    );
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.refreshToken).toBe(tokens.refreshToken);
    expect(refreshed.expiresAt).toBe(later + 5_183_999 * 1000);
    expect(linkedin.refresh).toEqual({ kind: "non-rotating", leadMs: 7 * DAY });
  });

  it("classifies invalid_grant as refused and a 5xx as transient", async () => {
    const dead = await refreshGrant(context(), linkedin, grantOf("x", "expired-rt")).catch((e) => e);
    expect(dead).toBeInstanceOf(ProviderError);
    expect(dead.kind).toBe("refused");
    fake.failNext({ kind: "5xx" });
    const down = await refreshGrant(context(), linkedin, grantOf("x", "any")).catch((e) => e);
    expect(down.kind).toBe("transient");
  });
});

describe("linkedin profile", () => {
  it("maps userinfo: sub, name, picture, email", async () => {
    const grant = fake.newGrant({ id: "782bbtaQ", username: "jane", name: "Jane Doe" });
    expect(await linkedin.profile(context(), grantOf(grant.accessToken))).toEqual({
      platformUserId: "782bbtaQ",
      username: "jane@example.com",
      displayName: "Jane Doe",
      avatarUrl:
        "https://media.licdn.com/dms/image/v2/D4E03AQ/profile-displayphoto-shrink_100_100/0/1?e=1&v=beta&t=x",
      accountType: "personal",
    });
  });

  it("leaves username empty when the email scope was not granted", async () => {
    fake.api("GET /v2/userinfo", () =>
      Response.json({ sub: "782bbtaQ", given_name: "Jane", family_name: "Doe" }),
    );
    const grant = fake.newGrant({ id: "782bbtaQ", username: "jane", name: "Jane Doe" });
    const profile = await linkedin.profile(context(), grantOf(grant.accessToken));
    expect(profile.username).toBeNull();
    expect(profile.displayName).toBe("Jane Doe");
    expect(profile.avatarUrl).toBeNull();
  });

  it("classifies a revoked token as refused and a 5xx as transient", async () => {
    const revoked = await linkedin.profile(context(), grantOf("revoked")).catch((e) => e);
    expect(revoked).toBeInstanceOf(ProviderError);
    expect(revoked.kind).toBe("refused");
    const grant = fake.newGrant({ id: "782bbtaQ", username: "jane", name: "Jane Doe" });
    fake.failNext({ kind: "5xx" });
    const down = await linkedin.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(down.kind).toBe("transient");
  });
});

describe("linkedin revoke", () => {
  it("posts client_id, client_secret and the token to LinkedIn's revoke endpoint", async () => {
    const grant = fake.newGrant({ id: "782bbtaQ", username: "jane", name: "Jane Doe" });
    await linkedin.revoke?.(context(), grantOf(grant.accessToken, grant.refreshToken));
    const call = fake.calls.find((c) => c.path === "/revoke");
    expect(call?.method).toBe("POST");
    const body = new URLSearchParams(call?.body);
    expect(body.get("client_id")).toBe("linkedin-client-id");
    expect(body.get("client_secret")).toBe("linkedin-client-secret");
    expect(body.get("token")).toBe(grant.accessToken);
    expect(grant.revoked).toBe(true);
  });
});
