import { beforeEach, describe, expect, it } from "vitest";
import { businessInformationContext, googlebusiness } from "../../src/platforms/googlebusiness";
import { ProviderError } from "../../src/platforms/http";
import { refreshGrant } from "../../src/platforms/oauth";
import { listBusinessLocations } from "../../src/platforms/pages/google-locations";
import type { FakePlatform } from "../helpers/fake-provider";
import {
  authorizeUrl,
  exchangeTestCode,
  grantOf,
  NOW,
  platformTestContext,
  redirectUriFor,
} from "../helpers/platform-context";
import { BUSINESS_GROUP, googlebusinessFake, oauthFake, recordRoute } from "../helpers/platform-fakes";

const REDIRECT = redirectUriFor("googlebusiness");
const VERIFIER = "gbp-verifier-0123456789-0123456789-0123456789-0123";
const SCOPES = ["https://www.googleapis.com/auth/business.manage"];
const context = (now = NOW) => platformTestContext("googlebusiness", now);

let fake: FakePlatform;
beforeEach(() => {
  fake = oauthFake("googlebusiness");
});

describe("googlebusiness authorization URL", () => {
  it("asks for business.manage with Google's offline-consent parameters and PKCE", async () => {
    expect(googlebusiness.endpoints).toEqual({
      authorizationUrl: "https://accounts.google.com/o/oauth2/v2/auth",
      tokenUrl: "https://oauth2.googleapis.com/token",
      revocationUrl: "https://oauth2.googleapis.com/revoke",
      apiBaseUrl: "https://mybusinessaccountmanagement.googleapis.com",
    });
    const url = await authorizeUrl(googlebusiness, { codeVerifier: VERIFIER });
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/googlebusiness/authorize");
    const q = url.searchParams;
    expect(q.get("client_id")).toBe("googlebusiness-client-id");
    expect(q.get("scope")).toBe(SCOPES[0]);
    expect(q.get("access_type")).toBe("offline");
    expect(q.get("prompt")).toBe("consent");
    expect(q.get("include_granted_scopes")).toBe("true");
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe("googlebusiness code exchange and refresh", () => {
  it("exchanges the code, then refreshes with the unchanged refresh token", async () => {
    const authorize = await authorizeUrl(googlebusiness, { state: "s", codeVerifier: VERIFIER });
    const code = fake.issueCode(
      { id: "112233445566", username: "", name: "Jane Baker" },
      {
        scopes: SCOPES,
        redirectUri: REDIRECT,
        challenge: authorize.searchParams.get("code_challenge") ?? "",
      },
    );
    const tokens = await exchangeTestCode(googlebusiness, code, { codeVerifier: VERIFIER });
    expect(tokens.refreshToken).toBe(fake.grants[0]?.refreshToken);
    expect(tokens.expiresAt).toBe(NOW + 3599 * 1000);
    expect(tokens.scopes).toEqual(SCOPES);

    const refreshed = await refreshGrant(
      context(NOW + 3_000_000),
      googlebusiness,
      grantOf(tokens.accessToken, tokens.refreshToken ?? null),
    );
    expect(refreshed.accessToken).toBe(fake.grants[0]?.accessToken);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.refreshToken).toBeNull();
    expect(refreshed.expiresAt).toBe(NOW + 3_000_000 + 3599 * 1000);
  });

  it("classifies a revoked refresh token as refused and a 5xx as transient", async () => {
    const dead = await refreshGrant(context(), googlebusiness, grantOf("x", "unknown")).catch((e) => e);
    expect(dead).toBeInstanceOf(ProviderError);
    expect(dead.kind).toBe("refused");
    fake.failNext({ kind: "5xx" });
    const down = await refreshGrant(context(), googlebusiness, grantOf("x", "unknown")).catch((e) => e);
    expect(down.kind).toBe("transient");
  });
});

describe("googlebusiness profile", () => {
  it("maps the user's personal account: id from accounts/{id}, accountName, lower-cased type", async () => {
    const grant = fake.newGrant({ id: "112233445566", username: "", name: "Jane Baker" });
    expect(await googlebusiness.profile(context(), grantOf(grant.accessToken))).toEqual({
      platformUserId: "112233445566",
      username: null,
      displayName: "Jane Baker",
      avatarUrl: null,
      accountType: "personal",
    });
  });

  it("picks the personal account wherever Google lists it, not the first", async () => {
    fake.api("GET /v1/accounts", () =>
      Response.json({
        accounts: [
          { name: "accounts/987654321", accountName: "Bakery group", type: "LOCATION_GROUP" },
          { name: "accounts/112233445566", accountName: "Jane Baker", type: "PERSONAL" },
        ],
      }),
    );
    const grant = fake.newGrant({ id: "x", username: "", name: "" });
    const profile = await googlebusiness.profile(context(), grantOf(grant.accessToken));
    expect(profile).toMatchObject({ platformUserId: "112233445566", accountType: "personal" });
  });

  it("with a selected location, reads that location (locations.get with a readMask)", async () => {
    const seen = recordRoute(fake, "GET /v1/locations/2222222222222222222");
    const grant = fake.newGrant({ id: "112233445566", username: "", name: "Jane Baker" });
    const profile = await googlebusiness.profile(
      context(),
      grantOf(grant.accessToken, null, {
        extras: { accountId: BUSINESS_GROUP.id, locationId: "2222222222222222222" },
      }),
    );
    expect(profile).toEqual({
      platformUserId: "2222222222222222222",
      username: null,
      displayName: "Vox Bakery Riverside",
      avatarUrl: null,
      accountType: "location",
    });
    expect(seen[0]?.url.searchParams.get("readMask")).toBe("name,title");
  });

  it("lower-cases a location group's type when it is the only account", async () => {
    fake.api("GET /v1/accounts", () =>
      Response.json({
        accounts: [{ name: "accounts/987654321", accountName: "Bakery group", type: "LOCATION_GROUP" }],
      }),
    );
    const grant = fake.newGrant({ id: "x", username: "", name: "" });
    const profile = await googlebusiness.profile(context(), grantOf(grant.accessToken));
    expect(profile.platformUserId).toBe("987654321");
    expect(profile.accountType).toBe("location_group");
  });

  it("answers invalid when the Google account has no Business Profile account", async () => {
    fake.api("GET /v1/accounts", () => Response.json({}));
    const grant = fake.newGrant({ id: "x", username: "", name: "" });
    const err = await googlebusiness.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("invalid");
    expect(err.message).toMatch(/no Business Profile/);
  });

  it("classifies a revoked token as refused, a 5xx and a 429 as transient", async () => {
    const revoked = await googlebusiness.profile(context(), grantOf("revoked")).catch((e) => e);
    expect(revoked).toBeInstanceOf(ProviderError);
    expect(revoked.kind).toBe("refused");
    const grant = fake.newGrant({ id: "1", username: "", name: "Jane" });
    fake.failNext({ kind: "5xx" });
    const down = await googlebusiness.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(down.kind).toBe("transient");
    fake.failNext({ kind: "429", retryAfter: "30" });
    const limited = await googlebusiness.profile(context(), grantOf(grant.accessToken)).catch((e) => e);
    expect(limited.kind).toBe("transient");
    expect(limited.details.retryAfterMs).toBe(30_000);
  });
});

describe("googlebusiness revoke", () => {
  it("posts the refresh token to Google's revoke endpoint", async () => {
    const grant = fake.newGrant({ id: "1", username: "", name: "Jane" });
    await googlebusiness.revoke?.(context(), grantOf(grant.accessToken, grant.refreshToken));
    const call = fake.calls.find((c) => c.path === "/revoke");
    expect(call?.method).toBe("POST");
    expect(new URLSearchParams(call?.body).get("token")).toBe(grant.refreshToken);
    expect(grant.revoked).toBe(true);
  });
});

describe("googlebusiness locations", () => {
  it("lists every account's locations with the readMask, following nextPageToken, each once", async () => {
    const many = Array.from({ length: 150 }, (_, i) => ({
      id: `44${String(i).padStart(8, "0")}`,
      title: `Shop ${i}`,
    }));
    googlebusinessFake(fake, { locations: many });
    const seen = recordRoute(fake, `GET /v1/accounts/${BUSINESS_GROUP.id}/locations`);
    const grant = fake.newGrant({ id: "112233445566", username: "", name: "Jane Baker" });
    const locations = await listBusinessLocations(context(), grant.accessToken);
    expect(locations).toHaveLength(150);
    expect(locations[0]).toEqual({
      id: "4400000000",
      title: "Shop 0",
      accountId: BUSINESS_GROUP.id,
      accountName: BUSINESS_GROUP.name,
      address: null,
    });
    expect(seen.map((r) => r.url.searchParams.get("pageToken"))).toEqual([null, "page-100"]);
    for (const req of seen) {
      expect(req.url.searchParams.get("readMask")).toBe("name,title,storefrontAddress");
      expect(req.url.searchParams.get("pageSize")).toBe("100");
    }
    // The personal account was asked too (it owns none here).
    expect(fake.calls.some((c) => c.path === "/api/v1/accounts/112233445566/locations")).toBe(true);
  });

  it("writes the storefront address on one line", async () => {
    const grant = fake.newGrant({ id: "112233445566", username: "", name: "Jane Baker" });
    const locations = await listBusinessLocations(context(), grant.accessToken);
    expect(locations.map((l) => [l.title, l.address])).toEqual([
      ["Vox Bakery Downtown", "1 Main St, 62701 Springfield, US"],
      ["Vox Bakery Riverside", "20 River Rd, Unit 3, 62702 Springfield, US"],
      ["Vox Catering", null],
    ]);
  });

  it("calls the Business Information API's host for locations, unless apiBaseUrl is overridden", () => {
    const real = { ...context(), endpoints: { ...googlebusiness.endpoints } };
    expect(businessInformationContext(real).endpoints.apiBaseUrl).toBe(
      "https://mybusinessbusinessinformation.googleapis.com",
    );
    expect(businessInformationContext(context()).endpoints.apiBaseUrl).toBe(context().endpoints.apiBaseUrl);
  });
});
