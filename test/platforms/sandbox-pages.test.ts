import * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import type { Platform } from "../../src/lib/domain";
import { sandboxEndpoints } from "../../src/platforms/catalogue";
import { facebook } from "../../src/platforms/facebook";
import { googlebusiness } from "../../src/platforms/googlebusiness";
import { ProviderError } from "../../src/platforms/http";
import { linkedin } from "../../src/platforms/linkedin";
import { buildAuthorizationUrl, exchangeCode } from "../../src/platforms/oauth";
import { listBusinessLocations } from "../../src/platforms/pages/google-locations";
import { listOrganizations } from "../../src/platforms/pages/linkedin-pages";
import { listFacebookPages } from "../../src/platforms/pages/meta-pages";
import type { PlatformContext, PlatformModule } from "../../src/platforms/types";
import { EMBEDDED_SIGNUP, listWhatsAppNumbers, whatsapp } from "../../src/platforms/whatsapp";
import { SANDBOX_PUBLIC_URL, sandboxFetcher } from "../helpers/sandbox";

const PUBLIC_URL = SANDBOX_PUBLIC_URL;
const sbFetch = sandboxFetcher;
const redirectUri = (platform: Platform) => `${PUBLIC_URL}/v1/oauth/redirect/${platform}`;

const context = (platform: Platform = "googlebusiness"): PlatformContext => ({
  platform,
  endpoints: sandboxEndpoints(PUBLIC_URL, platform),
  clientId: "sandbox-client",
  clientSecret: "sandbox-secret",
  allowHttp: true,
  fetch: sbFetch,
  now: Date.now(),
});

/** Consent in the sandbox and the code exchange (with the module's finishGrant), as the app does: answers the access token. */
async function sandboxToken(module: PlatformModule = googlebusiness, pageMode = false, via?: Platform) {
  return (await sandboxGrant(module, pageMode, via)).accessToken;
}

/** The grant a sandbox consent gives, signed in at `via` (a variant's platform) when given. */
async function sandboxGrant(module: PlatformModule, pageMode = false, via?: Platform) {
  const ctx = context(via ?? module.id);
  const redirect = redirectUri(module.id);
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = await buildAuthorizationUrl(ctx, module, {
    state,
    codeVerifier,
    redirectUri: redirect,
    pageMode,
  });
  const page = await (await sbFetch(url)).text();
  const request = /name="request" value="([^"]+)"/.exec(page)?.[1] ?? "";
  const username = /name="username" value="([^"]*)"/.exec(page)?.[1] ?? "";
  const decided = await sbFetch(`${PUBLIC_URL}/sandbox/${via ?? module.id}/authorize`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ request, decision: "approve", username }),
  });
  const code = new URL(decided.headers.get("location") as string).searchParams.get("code") as string;
  return exchangeCode(ctx, module, { code, codeVerifier, redirectUri: redirect });
}

describe("the sandbox's LinkedIn organisations", () => {
  it("lists two administered organisations with names and logos through the /rest lookups", async () => {
    const listing = await listOrganizations(context("linkedin"), await sandboxToken(linkedin, true));
    expect(listing.kind).toBe("ok");
    const orgs = listing.kind === "ok" ? listing.organizations : [];
    expect(orgs).toHaveLength(2);
    for (const org of orgs) {
      expect(org.urn).toBe(`urn:li:organization:${org.id}`);
      expect(org.name).toMatch(/ (Studio|Labs)$/);
      expect(org.logoUrl).toMatch(/^https:\/\/switchboard\.test\//);
    }
  });

  it("answers no-organization-access to a token without the organisation scopes", async () => {
    const listing = await listOrganizations(context("linkedin"), await sandboxToken(linkedin));
    expect(listing).toEqual({ kind: "no-organization-access" });
  });
});

describe("the sandbox's Facebook Pages", () => {
  it("lists the user's Pages with Page tokens that read the Page and die with the user's revocation", async () => {
    const userToken = await sandboxToken(facebook);
    const pages = await listFacebookPages(context("facebook"), userToken);
    expect(pages.map((p) => [p.id, p.name])).toEqual([
      ["sbx-facebook-1001-page-1", "Sandbox Facebook User's Page 1"],
      ["sbx-facebook-1001-page-2", "Sandbox Facebook User's Page 2"],
    ]);
    const pageToken = pages[0]?.accessToken as string;
    const grant = {
      accessToken: pageToken,
      refreshToken: null,
      extras: { pageId: pages[0]?.id, pageAccessToken: pageToken, userAccessToken: userToken },
    };
    expect(await facebook.profile(context("facebook"), grant)).toEqual({
      platformUserId: "sbx-facebook-1001-page-1",
      username: null,
      displayName: "Sandbox Facebook User's Page 1",
      avatarUrl: null,
      accountType: "page",
    });
    // Without business_management the businesses edge is refused, and the listing is /me/accounts alone.
    const withBusinesses = await listFacebookPages(context("facebook"), userToken, { businesses: true });
    expect(withBusinesses.map((p) => p.id)).toEqual(pages.map((p) => p.id));
    // A Page token lists no Pages; revoking goes out with the user token, and takes the Page token with it.
    await expect(listFacebookPages(context("facebook"), pageToken)).rejects.toBeInstanceOf(ProviderError);
    await facebook.revoke?.(context("facebook"), grant);
    const dead = await facebook.profile(context("facebook"), grant).catch((e) => e);
    expect(dead).toBeInstanceOf(ProviderError);
    expect(dead.kind).toBe("refused");
  });
});

describe("the sandbox's Business Profile locations", () => {
  it("lists the user's locations as pages and answers the selected one to the profile check", async () => {
    const token = await sandboxToken();
    const locations = await listBusinessLocations(context(), token);
    expect(locations.map((l) => [l.title, l.address])).toEqual([
      ["Sandbox Bakery Downtown", "1 Sandbox Way, 00000 Sandbox City, US"],
      ["Sandbox Bakery Riverside", "2 Sandbox Quay, 00000 Sandbox City, US"],
      ["Sandbox Bakery Catering", null],
    ]);
    const [first] = locations;
    expect(first?.accountId).toBe("sbx-googlebusiness-1001");
    const profile = await googlebusiness.profile(context(), {
      accessToken: token,
      refreshToken: null,
      extras: { accountId: first?.accountId, locationId: first?.id },
    });
    expect(profile).toMatchObject({ platformUserId: first?.id, displayName: "Sandbox Bakery Downtown" });
  });

  it("refuses a listing without a readMask, of another account, and without a token", async () => {
    const token = await sandboxToken();
    const api = `${sandboxEndpoints(PUBLIC_URL, "googlebusiness").apiBaseUrl}/v1/accounts`;
    const get = (path: string, bearer = token) =>
      sbFetch(`${api}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
    const noMask = await get("/sbx-googlebusiness-1001/locations");
    expect(noMask.status).toBe(400);
    expect(((await noMask.json()) as { error: { status: string } }).error.status).toBe("INVALID_ARGUMENT");
    expect((await get("/someone-else/locations?readMask=name")).status).toBe(404);
    expect((await get("/sbx-googlebusiness-1001/locations?readMask=name", "nope")).status).toBe(401);
  });
});

describe("the sandbox's WhatsApp Embedded Signup", () => {
  it("shares one WABA with one number, subscribes the app and answers the account's profile", async () => {
    const variant = whatsapp.variants?.[EMBEDDED_SIGNUP];
    if (!variant) throw new Error("no Embedded Signup variant");
    const module = { ...whatsapp, oauth: variant.oauth, finishGrant: variant.finishGrant };
    const tokens = await sandboxGrant(module, false, "facebook");
    expect(tokens.extras).toMatchObject({ oauthVersion: EMBEDDED_SIGNUP });
    expect(tokens.expiresAt).toBeNull();
    const grant = { accessToken: tokens.accessToken, refreshToken: null, extras: tokens.extras ?? {} };
    const wabaId = grant.extras.wabaId as string;
    const numbers = await listWhatsAppNumbers(context("whatsapp"), tokens.accessToken, [wabaId]);
    expect(numbers).toHaveLength(1);
    expect(grant.extras.phoneNumberId).toBe(numbers[0]?.id);
    const profile = await whatsapp.profile(context("whatsapp"), grant);
    expect(profile).toMatchObject({
      platformUserId: wabaId,
      displayName: "Sandbox Business",
      accountType: "business",
      page: { id: numbers[0]?.id, name: numbers[0]?.displayNumber },
    });
    await whatsapp.revoke?.(context("whatsapp"), grant);
  });
});
