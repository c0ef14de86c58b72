import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { saveSelectedPage } from "../../src/features/pages/pages.repository";
import { DAY } from "../../src/lib/time";
import { GRAPH_VERSION } from "../../src/platforms/meta";
import { linkedinNoOrganizationAccess } from "../../src/platforms/wire/linkedin";
import { facebookPageList } from "../../src/platforms/wire/meta";
import {
  type CallOptions,
  call,
  createWorkspace,
  insertAccount,
  issueKey,
  type TestWorkspace,
} from "../helpers/api";
import { type FakePlatform, type FakeRequest, fakePlatform } from "../helpers/fake-provider";
import {
  BUSINESS_GROUP,
  BUSINESS_LOCATIONS,
  graphError,
  oauthFake,
  recordRoute,
  sendError,
  youtubeFake,
} from "../helpers/platform-fakes";
import { extrasOf, rowOf } from "../helpers/rows";

let responses: string[] = [];
/** Every request URL the fakes of this file received, query included. */
let seen: URL[] = [];
/** Secrets the fakes hold: none may appear in any response. */
let secrets: string[] = [];

async function api(path: string, options: CallOptions = {}) {
  const res = await call(path, options);
  responses.push(res.text);
  return res;
}

const bearer = (req: FakeRequest) => req.request.headers.get("authorization")?.replace(/^Bearer /i, "");

let ws: TestWorkspace;

beforeEach(async () => {
  responses = [];
  secrets = [];
  seen = [];
  ws = await createWorkspace();
});

afterEach(() => {
  for (const secret of secrets) for (const text of responses) expect(text).not.toContain(secret);
});

// ---------------------------------------------------------------------------------------------
// LinkedIn

const MEMBER_TOKEN = () => `li-at-${crypto.randomUUID()}`;

interface Org {
  id: number;
  name: string;
  logo?: string;
  role?: string;
  state?: string;
}

const unauthorizedLinkedIn = () =>
  Response.json(
    { serviceErrorCode: 65600, code: "INVALID_ACCESS_TOKEN", message: "Invalid access token", status: 401 },
    { status: 401 },
  );

/** The members of a Rest.li 2.0 `ids=List(…)` query. */
const listIds = (url: URL) =>
  (url.searchParams.get("ids")?.match(/^List\((.*)\)$/)?.[1] ?? "").split(",").filter(Boolean);

/**
 * GET /rest/organizationAcls?q=roleAssignee paged by start/count, then the names by a batch
 * GET /rest/organizations?ids=List(…) and the logos by GET /rest/images?ids=List(…).
 */
function linkedinFake(token: string, orgs: Org[]): FakePlatform {
  const fake = fakePlatform("linkedin");
  const imageOf = (org: Org) => `urn:li:image:C4D0BAQ${org.id}`;
  fake.api("GET /rest/organizationAcls", (req) => {
    seen.push(req.url);
    if (bearer(req) !== token) return unauthorizedLinkedIn();
    const start = Number(req.url.searchParams.get("start") ?? 0);
    const count = Number(req.url.searchParams.get("count") ?? 10);
    const page = orgs.slice(start, start + count);
    return Response.json({
      paging: { count, start, links: [] },
      elements: page.map((org) => ({
        roleAssignee: "urn:li:person:abc123",
        role: org.role ?? "ADMINISTRATOR",
        state: org.state ?? "APPROVED",
        organization: `urn:li:organization:${org.id}`,
      })),
    });
  });
  fake.api("GET /rest/organizations", (req) => {
    seen.push(req.url);
    if (bearer(req) !== token) return unauthorizedLinkedIn();
    const ids = listIds(req.url);
    const results = Object.fromEntries(
      orgs
        .filter((org) => ids.includes(String(org.id)))
        .map((org) => [
          String(org.id),
          {
            id: org.id,
            localizedName: org.name,
            vanityName: org.name.toLowerCase().replace(/\s+/g, ""),
            ...(org.logo ? { logoV2: { original: imageOf(org), cropped: imageOf(org) } } : {}),
          },
        ]),
    );
    return Response.json({ results, statuses: {}, errors: {} });
  });
  fake.api("GET /rest/images", (req) => {
    seen.push(req.url);
    if (bearer(req) !== token) return unauthorizedLinkedIn();
    const urns = listIds(req.url).map(decodeURIComponent);
    const results = Object.fromEntries(
      orgs
        .filter((org) => org.logo && urns.includes(imageOf(org)))
        .map((org) => [imageOf(org), { id: imageOf(org), status: "AVAILABLE", downloadUrl: org.logo }]),
    );
    return Response.json({ results, statuses: {}, errors: {} });
  });
  return fake;
}

async function linkedinAccount(token: string, fields: Record<string, unknown> = {}) {
  return insertAccount(ws.id, {
    platform: "linkedin",
    credentials: { accessToken: token },
    ...fields,
  });
}

describe("LinkedIn pages", () => {
  it("lists the organisations the member administers, with URN and logo", async () => {
    const token = MEMBER_TOKEN();
    secrets.push(token);
    const fake = linkedinFake(token, [
      {
        id: 12345678,
        name: "Vox Burst",
        logo: "https://media.licdn.com/dms/image/C4D0BAQH/company-logo_400_400/0/1",
      },
      { id: 87654321, name: "Side Project" },
    ]);
    const account = await linkedinAccount(token);
    const res = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({
      pages: [
        {
          id: "12345678",
          name: "Vox Burst",
          urn: "urn:li:organization:12345678",
          type: "organization",
          logoUrl: "https://media.licdn.com/dms/image/C4D0BAQH/company-logo_400_400/0/1",
        },
        {
          id: "87654321",
          name: "Side Project",
          urn: "urn:li:organization:87654321",
          type: "organization",
          logoUrl: null,
        },
      ],
    });
    expect(fake.calls).toHaveLength(3);
    for (const call of fake.calls) {
      expect(call.headers.get("x-restli-protocol-version")).toBe("2.0.0");
      expect(call.headers.get("linkedin-version")).toMatch(/^\d{6}$/);
      expect(call.headers.get("authorization")).toBe(`Bearer ${token}`);
    }
    const [acls, lookup, images] = seen;
    expect(acls?.pathname).toBe("/linkedin/api/rest/organizationAcls");
    expect(acls?.searchParams.get("q")).toBe("roleAssignee");
    expect(acls?.searchParams.get("role")).toBe("ADMINISTRATOR");
    expect(acls?.searchParams.get("state")).toBe("APPROVED");
    expect(lookup?.pathname).toBe("/linkedin/api/rest/organizations");
    expect(lookup?.href).toContain("ids=List(12345678,87654321)");
    expect(images?.pathname).toBe("/linkedin/api/rest/images");
    expect(images?.href).toContain("ids=List(urn%3Ali%3Aimage%3AC4D0BAQ12345678)");
  });

  it("follows start/count pages and looks the names up in batches with literal List(…) parentheses", async () => {
    const token = MEMBER_TOKEN();
    const orgs = Array.from({ length: 101 }, (_, i) => ({ id: 1000 + i, name: `Org ${i}` }));
    linkedinFake(token, orgs);
    const account = await linkedinAccount(token);
    const res = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.pages).toHaveLength(101);
    expect(res.json.pages[100]).toMatchObject({ id: "1100", name: "Org 100", logoUrl: null });
    const acls = seen.filter((u) => u.pathname.endsWith("/organizationAcls"));
    expect(acls.map((u) => u.searchParams.get("start"))).toEqual(["0", "100"]);
    expect(acls.map((u) => u.searchParams.get("count"))).toEqual(["100", "100"]);
    const lookups = seen.filter((u) => u.pathname.endsWith("/rest/organizations"));
    expect(lookups.map((u) => listIds(u).length)).toEqual([50, 50, 1]);
    expect(lookups[0]?.href).toContain("ids=List(1000,1001,");
    expect(seen.filter((u) => u.pathname.endsWith("/rest/images"))).toHaveLength(0);
  });

  it("selects an administered organisation by id or URN, keeping the given or LinkedIn's name", async () => {
    const token = MEMBER_TOKEN();
    linkedinFake(token, [{ id: 12345678, name: "Vox Burst" }]);
    const account = await linkedinAccount(token);
    const res = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: "12345678" },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({
      success: true,
      account: { id: account.id, selectedPage: { id: "12345678", name: "Vox Burst" } },
    });
    const renamed = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: "urn:li:organization:12345678", pageName: "VoxBurst Official" },
    });
    expect(renamed.json.account.selectedPage).toEqual({ id: "12345678", name: "VoxBurst Official" });
    const row = await rowOf(account.id);
    expect(row).toMatchObject({ selected_page_id: "12345678", selected_page_name: "VoxBurst Official" });
  });

  it("refuses an organisation the member does not administer with INVALID_PAGE_ID", async () => {
    const token = MEMBER_TOKEN();
    linkedinFake(token, [{ id: 12345678, name: "Vox Burst" }]);
    const account = await linkedinAccount(token);
    const res = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: "99999999" },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PAGE_ID");
    expect(res.json.error.details).toEqual([{ field: "pageId", message: expect.any(String) }]);
    expect((await rowOf(account.id))?.selected_page_id).toBeNull();
  });

  it("answers PROVIDER_ERROR when LinkedIn refuses the token, and 400 for a disconnected account", async () => {
    linkedinFake("another-token", []);
    const account = await linkedinAccount(MEMBER_TOKEN());
    const res = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(res.status).toBe(502);
    expect(res.json.error.code).toBe("PROVIDER_ERROR");
    const gone = await linkedinAccount(MEMBER_TOKEN(), { status: "disconnected" });
    const disconnected = await api(`/v1/accounts/${gone.id}/pages`, { key: ws.key });
    expect(disconnected.status).toBe(400);
    expect(disconnected.json.error).toMatchObject({
      code: "INVALID_PARAM",
      message: expect.stringContaining("disconnected"),
    });
  });
});

describe("LinkedIn accounts connected without pageMode", () => {
  const hint = expect.stringContaining("reconnect it with pageMode: true");

  it("answer no pages with requiresReauth and a hint on LinkedIn's 403, and refuse select-page", async () => {
    const token = MEMBER_TOKEN();
    const fake = fakePlatform("linkedin");
    fake.api("GET /rest/organizationAcls", () => sendError(linkedinNoOrganizationAccess()));
    const account = await linkedinAccount(token, { scopes: ["openid", "profile", "w_member_social"] });
    const res = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ pages: [], requiresReauth: true, hint });
    const select = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: "12345678" },
    });
    expect(select.status).toBe(400);
    expect(select.json.error).toMatchObject({ code: "INVALID_PARAM", message: hint });
    expect(fake.calls).toHaveLength(2);
    expect(await rowOf(account.id)).toMatchObject({
      selected_page_id: null,
      status: "active",
      last_error_code: null,
    });
  });

  it("keep LinkedIn's other refusals as PROVIDER_ERROR", async () => {
    const fake = fakePlatform("linkedin");
    fake.api("GET /rest/organizationAcls", () =>
      Response.json({ status: 400, code: "ILLEGAL_ARGUMENT", message: "Invalid param" }, { status: 400 }),
    );
    const account = await linkedinAccount(MEMBER_TOKEN());
    const res = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(res.status).toBe(502);
    expect(res.json.error.code).toBe("PROVIDER_ERROR");
  });

  it("list organisations as before when the grant holds rw_organization_admin", async () => {
    const token = MEMBER_TOKEN();
    linkedinFake(token, [{ id: 12345678, name: "Vox Burst" }]);
    const scopes = ["openid", "profile", "w_member_social", "rw_organization_admin", "w_organization_social"];
    const account = await linkedinAccount(token, { scopes });
    const res = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ pages: [expect.objectContaining({ id: "12345678", type: "organization" })] });
  });
});

// ---------------------------------------------------------------------------------------------
// YouTube channels (a Google account's own channel and its brand accounts')

describe("YouTube channels", () => {
  const brands = Array.from({ length: 51 }, (_, i) => ({
    id: `UCbrand${String(i).padStart(17, "0")}`,
    title: `Brand ${i}`,
    customUrl: `@brand${i}`,
  }));

  async function youtubeAccount() {
    const fake = oauthFake("youtube");
    youtubeFake(fake, { brands });
    const grant = fake.newGrant({ id: "UCown0000000000000000001", username: "@ada", name: "Ada's channel" });
    const account = await insertAccount(ws.id, {
      platform: "youtube",
      platformUserId: grant.profile.id,
      username: "@ada",
      displayName: "Ada's channel",
      credentials: { accessToken: grant.accessToken, refreshToken: grant.refreshToken ?? undefined },
    });
    return { fake, grant, account };
  }

  it("lists every channel mine=true answers, following nextPageToken", async () => {
    const { fake, account } = await youtubeAccount();
    const listed = recordRoute(fake, "GET /youtube/v3/channels");
    const res = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.pages).toHaveLength(52);
    expect(res.json.pages[0]).toEqual({
      id: "UCown0000000000000000001",
      name: "Ada's channel",
      type: "channel",
      handle: "@ada",
      avatarUrl: "https://yt3.ggpht.com/UCown0000000000000000001=s800-c-k-c0x00ffffff-no-rj",
    });
    expect(res.json.pages[51]).toMatchObject({ id: brands[50]?.id, name: "Brand 50", handle: "@brand50" });
    const urls = listed.map((req) => req.url);
    expect(urls.map((u) => u.searchParams.get("mine"))).toEqual(["true", "true"]);
    expect(urls.map((u) => u.searchParams.get("maxResults"))).toEqual(["50", "50"]);
    expect(urls[0]?.searchParams.get("pageToken")).toBeNull();
    expect(urls[1]?.searchParams.get("pageToken")).toEqual(expect.any(String));
  });

  it("selects a brand channel by id, keeping the given or YouTube's name, and refuses a channel it does not own", async () => {
    const { account } = await youtubeAccount();
    const brand = brands[50] as (typeof brands)[number];
    const res = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: brand.id },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.account.selectedPage).toEqual({ id: brand.id, name: brand.title });
    const renamed = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: brand.id, pageName: "Our brand" },
    });
    expect(renamed.json.account.selectedPage).toEqual({ id: brand.id, name: "Our brand" });
    const foreign = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: "UCsomeoneelse0000000000" },
    });
    expect(foreign.status).toBe(400);
    expect(foreign.json.error.code).toBe("INVALID_PAGE_ID");
    expect(await rowOf(account.id)).toMatchObject({
      selected_page_id: brand.id,
      selected_page_name: "Our brand",
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Instagram through Facebook Login (served on Instagram's API base, which the tests override)

interface IgPage {
  id: string;
  name: string;
  token: string;
  ig?: { id: string; username: string; name?: string; picture?: string };
}

/** GET /{version}/me/accounts with instagram_business_account expanded, paged with Graph cursors. */
function facebookLoginFake(userToken: string, pages: IgPage[], pageSize = 25): FakePlatform {
  const fake = fakePlatform("instagram");
  fake.api(`GET /${GRAPH_VERSION}/me/accounts`, (req) => {
    seen.push(req.url);
    if (bearer(req) !== userToken) return graphError(190, 400, "Invalid OAuth access token data.");
    const fields = req.url.searchParams.get("fields") ?? "";
    const start = Number(req.url.searchParams.get("after")?.replace("cursor-", "") ?? 0);
    const slice = pages.slice(start, start + pageSize);
    const next = start + pageSize < pages.length;
    return Response.json({
      data: slice.map((p) => ({
        access_token: p.token,
        name: p.name,
        id: p.id,
        ...(p.ig && fields.includes("instagram_business_account")
          ? {
              instagram_business_account: {
                id: p.ig.id,
                username: p.ig.username,
                ...(p.ig.name ? { name: p.ig.name } : {}),
                ...(p.ig.picture ? { profile_picture_url: p.ig.picture } : {}),
              },
            }
          : {}),
      })),
      paging: {
        cursors: { before: `cursor-${start}`, after: `cursor-${start + pageSize}` },
        ...(next
          ? {
              next: `https://graph.facebook.com/${GRAPH_VERSION}/me/accounts?after=cursor-${start + pageSize}`,
            }
          : {}),
      },
    });
  });
  return fake;
}

const VOX: IgPage = {
  id: "112233445566778",
  name: "Vox Burst",
  token: "page-token-vox-EAAB",
  ig: {
    id: "17841400000000001",
    username: "voxburst",
    name: "Vox Burst",
    picture: "https://scontent.cdninstagram.com/vox.jpg",
  },
};
const NO_IG: IgPage = { id: "998877665544332", name: "Plain Page", token: "page-token-plain-EAAB" };

async function fbLoginAccount(token: string, extras: Record<string, unknown> = { oauthVersion: "fb_login" }) {
  return insertAccount(ws.id, {
    platform: "instagram",
    platformUserId: `10${Math.floor(Math.random() * 1e12)}`,
    username: null,
    displayName: "Ada Lovelace",
    credentials: { accessToken: token, extras },
  });
}

describe("Instagram pages (Facebook Login)", () => {
  it("lists the business accounts linked to the user's Pages, leaving out Pages without one", async () => {
    const token = `fb-user-${crypto.randomUUID()}`;
    secrets.push(token, VOX.token, NO_IG.token);
    facebookLoginFake(token, [VOX, NO_IG]);
    const account = await fbLoginAccount(token);
    const res = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({
      pages: [
        {
          id: "17841400000000001",
          name: "@voxburst",
          pageId: "112233445566778",
          pageName: "Vox Burst",
          type: "instagram",
          avatarUrl: "https://scontent.cdninstagram.com/vox.jpg",
        },
      ],
    });
    expect(seen[0]?.searchParams.get("fields")).toBe(
      "id,name,access_token,instagram_business_account{id,username,name,profile_picture_url}",
    );
  });

  it("follows paging.next with the after cursor", async () => {
    const token = `fb-user-${crypto.randomUUID()}`;
    const pages = Array.from({ length: 5 }, (_, i) => ({
      id: `10000000000000${i}`,
      name: `Page ${i}`,
      token: `page-token-${i}`,
      ig: { id: `1784140000000000${i}`, username: `acct${i}` },
    }));
    facebookLoginFake(token, pages, 2);
    const account = await fbLoginAccount(token);
    const res = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(res.json.pages.map((p: { id: string }) => p.id)).toEqual(pages.map((p) => p.ig.id));
    expect(seen.map((u) => u.searchParams.get("after"))).toEqual([null, "cursor-2", "cursor-4"]);
  });

  it("selects by Facebook Page id: stores the business account and the Page token encrypted, answers neither token", async () => {
    const token = `fb-user-${crypto.randomUUID()}`;
    secrets.push(token, VOX.token);
    facebookLoginFake(token, [NO_IG, VOX]);
    const account = await fbLoginAccount(token);
    const res = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: VOX.id, pageName: "Page Display Name" },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.account).toMatchObject({
      username: "@voxburst",
      displayName: "Vox Burst",
      avatarUrl: "https://scontent.cdninstagram.com/vox.jpg",
      accountType: "business",
      selectedPage: { id: VOX.id, name: "Page Display Name" },
    });
    expect(await extrasOf(account.id)).toEqual({
      oauthVersion: "fb_login",
      igUserId: "17841400000000001",
      username: "voxburst",
      pageId: VOX.id,
      pageName: "Page Display Name",
      pageAccessToken: VOX.token,
      userAccessToken: token,
    });
    const row = await rowOf(account.id);
    expect(JSON.stringify(row)).not.toContain(VOX.token);
    expect(row?.key_version).toBe("k2");
    expect(row?.token_expires_at).toBeNull();
    expect(res.json.account.tokenExpiresAt).toBeNull();
    // The Page token is the credential now; the listing still goes out with the user token.
    const again = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(again.json.pages.map((p: { pageId: string }) => p.pageId)).toEqual([VOX.id]);
  });

  it("answers INVALID_PAGE_ID for a Page that is not reachable or has no business account", async () => {
    const token = `fb-user-${crypto.randomUUID()}`;
    facebookLoginFake(token, [VOX, NO_IG]);
    const account = await fbLoginAccount(token);
    for (const pageId of ["123", NO_IG.id]) {
      const res = await api(`/v1/accounts/${account.id}/select-page`, {
        method: "POST",
        key: ws.key,
        body: { pageId },
      });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("INVALID_PAGE_ID");
      expect(res.json.error.message).toContain("not found among the Instagram Business accounts");
    }
    expect(await extrasOf(account.id)).toEqual({ oauthVersion: "fb_login" });
  });

  it("answers no pages for an Instagram Direct Login account, and refuses to select one", async () => {
    const fake = fakePlatform("instagram");
    const legacy = await fbLoginAccount("ig-token", { oauthVersion: "instagram_login" });
    const bare = await insertAccount(ws.id, {
      platform: "instagram",
      credentials: { accessToken: "ig-token-2" },
    });
    for (const account of [legacy, bare]) {
      const res = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
      expect(res.status, res.text).toBe(200);
      expect(res.json).toEqual({ pages: [] });
      const select = await api(`/v1/accounts/${account.id}/select-page`, {
        method: "POST",
        key: ws.key,
        body: { pageId: VOX.id },
      });
      expect(select.status).toBe(400);
      expect(select.json.error).toMatchObject({
        code: "INVALID_PARAM",
        message: expect.stringContaining("Facebook Login"),
      });
    }
    expect(fake.calls).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Facebook Pages

function facebookPagesFake(userToken: string, pages: IgPage[]) {
  const fake = fakePlatform("facebook");
  fake.api("GET /me/accounts", (req) => {
    seen.push(req.url);
    if (bearer(req) !== userToken) return graphError(190, 400, "Invalid OAuth access token data.");
    const listed = pages.map((p) => ({
      id: p.id,
      name: p.name,
      accessToken: p.token || undefined,
      avatarUrl: p.ig?.picture,
    }));
    return Response.json(facebookPageList(listed, req.url.searchParams.get("fields")));
  });
  return fake;
}

describe("Facebook pages", () => {
  it("lists the Pages the user manages and selects one, its Page token stored encrypted", async () => {
    const token = `fb-user-${crypto.randomUUID()}`;
    secrets.push(token, VOX.token, NO_IG.token);
    facebookPagesFake(token, [VOX, NO_IG]);
    const account = await insertAccount(ws.id, { platform: "facebook", credentials: { accessToken: token } });
    const list = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(list.status, list.text).toBe(200);
    expect(list.json).toEqual({
      pages: [
        {
          id: VOX.id,
          name: "Vox Burst",
          type: "page",
          avatarUrl: "https://scontent.cdninstagram.com/vox.jpg",
        },
        { id: NO_IG.id, name: "Plain Page", type: "page" },
      ],
    });
    expect(seen[0]?.pathname).toBe("/facebook/api/me/accounts");
    expect(seen[0]?.searchParams.get("fields")).toBe("id,name,access_token,picture");
    const select = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: NO_IG.id },
    });
    expect(select.status, select.text).toBe(200);
    expect(select.json.account.selectedPage).toEqual({ id: NO_IG.id, name: "Plain Page" });
    expect(await extrasOf(account.id)).toEqual({
      pageId: NO_IG.id,
      pageName: "Plain Page",
      pageAccessToken: NO_IG.token,
      userAccessToken: token,
    });
    expect((await rowOf(account.id))?.token_expires_at).toBeNull();
    // Another Page later: listed and checked with the user token, its token replacing the first.
    const other = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: VOX.id },
    });
    expect(other.status, other.text).toBe(200);
    expect(await extrasOf(account.id)).toEqual({
      pageId: VOX.id,
      pageName: "Vox Burst",
      pageAccessToken: VOX.token,
      userAccessToken: token,
    });
    const unknown = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: "404" },
    });
    expect(unknown.json.error.code).toBe("INVALID_PAGE_ID");
  });

  it("keeps the user token as the credential when Graph answers no Page token", async () => {
    const token = `fb-user-${crypto.randomUUID()}`;
    const expiresAt = new Date(Date.now() + 50 * DAY).toISOString();
    facebookPagesFake(token, [{ ...NO_IG, token: "" }]);
    const account = await insertAccount(ws.id, {
      platform: "facebook",
      tokenExpiresAt: expiresAt,
      credentials: { accessToken: token },
    });
    const select = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: NO_IG.id },
    });
    expect(select.status, select.text).toBe(200);
    expect(select.json.account.tokenExpiresAt).toBe(expiresAt);
    expect(await extrasOf(account.id)).toEqual({
      pageId: NO_IG.id,
      pageName: "Plain Page",
      pageAccessToken: null,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Google Business Profile locations

describe("Google Business Profile locations", () => {
  async function businessAccount() {
    const fake = oauthFake("googlebusiness");
    const grant = fake.newGrant({ id: "112233445566", username: "", name: "Jane Baker" });
    const account = await insertAccount(ws.id, {
      platform: "googlebusiness",
      platformUserId: grant.profile.id,
      username: null,
      displayName: "Jane Baker",
      credentials: { accessToken: grant.accessToken, refreshToken: grant.refreshToken ?? undefined },
    });
    return { fake, grant, account };
  }

  it("lists every location of every account as pages", async () => {
    const { account } = await businessAccount();
    const res = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.pages).toEqual(
      BUSINESS_LOCATIONS.map((l, i) => ({
        id: l.id,
        name: l.title,
        type: "location",
        accountId: BUSINESS_GROUP.id,
        accountName: BUSINESS_GROUP.name,
        address: ["1 Main St, 62701 Springfield, US", "20 River Rd, Unit 3, 62702 Springfield, US", null][i],
      })),
    );
  });

  it("selects a location by id or name, storing its account and location; test then reads the location", async () => {
    const { account } = await businessAccount();
    const location = BUSINESS_LOCATIONS[1] as (typeof BUSINESS_LOCATIONS)[number];
    const res = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: `locations/${location.id}` },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.account.selectedPage).toEqual({ id: location.id, name: location.title });
    expect(await extrasOf(account.id)).toEqual({
      accountId: BUSINESS_GROUP.id,
      locationId: location.id,
      locationName: location.title,
    });
    const test = await api(`/v1/accounts/${account.id}/test`, { method: "POST", key: ws.key });
    expect(test.json).toEqual({
      success: true,
      message: "Connection verified",
      details: { platformUserId: location.id, username: null, displayName: location.title },
    });
    const renamed = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: BUSINESS_LOCATIONS[0]?.id, pageName: "Downtown" },
    });
    expect(renamed.json.account.selectedPage).toEqual({ id: BUSINESS_LOCATIONS[0]?.id, name: "Downtown" });
  });

  it("refuses a location the user does not manage with INVALID_PAGE_ID", async () => {
    const { account } = await businessAccount();
    const res = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: "9999999999999999999" },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PAGE_ID");
    expect((await rowOf(account.id))?.selected_page_id).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// Other platforms, tenancy, scopes, input

describe("pages on other platforms and in other workspaces", () => {
  it("answers no pages for a platform without them, and refuses to select one", async () => {
    const account = await insertAccount(ws.id, { platform: "twitter" });
    const list = await api(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(list.json).toEqual({ pages: [] });
    const select = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: "1" },
    });
    expect(select.status).toBe(400);
    expect(select.json.error).toMatchObject({
      code: "INVALID_PARAM",
      message: expect.stringContaining("Page selection does not apply to X accounts"),
    });
  });

  it("answers 404 for another workspace's account and for an unknown one", async () => {
    const other = await createWorkspace();
    const theirs = await insertAccount(other.id, { platform: "linkedin" });
    for (const id of [theirs.id, "acc_missing"]) {
      const list = await api(`/v1/accounts/${id}/pages`, { key: ws.key });
      expect(list.status).toBe(404);
      const select = await api(`/v1/accounts/${id}/select-page`, {
        method: "POST",
        key: ws.key,
        body: { pageId: "1" },
      });
      expect(select.status).toBe(404);
      expect(select.json.error.code).toBe("NOT_FOUND");
    }
  });

  it("needs accounts:read to list and accounts:write to select", async () => {
    const account = await insertAccount(ws.id, { platform: "twitter" });
    const writer = await issueKey(ws.id, ["accounts:write"]);
    const reader = await issueKey(ws.id, ["accounts:read"]);
    expect((await api(`/v1/accounts/${account.id}/pages`, { key: writer.key })).status).toBe(403);
    const select = await api(`/v1/accounts/${account.id}/select-page`, {
      method: "POST",
      key: reader.key,
      body: { pageId: "1" },
    });
    expect(select.status).toBe(403);
    expect(select.json.error.code).toBe("INSUFFICIENT_SCOPE");
    expect((await api(`/v1/accounts/${account.id}/pages`)).status).toBe(401);
  });

  it("names the field when the body is wrong", async () => {
    const account = await insertAccount(ws.id, { platform: "linkedin" });
    for (const body of [{}, { pageId: "" }, { pageId: "1", extra: true }, { pageId: 1 }]) {
      const res = await api(`/v1/accounts/${account.id}/select-page`, { method: "POST", key: ws.key, body });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("INVALID_PARAM");
      expect(res.json.error.details?.[0]?.field).toBeDefined();
    }
  });
});

describe("saveSelectedPage", () => {
  it("writes nothing when the row's secrets changed since they were read", async () => {
    const account = await insertAccount(ws.id, { platform: "facebook" });
    const db = createDb(env.DB);
    const row = await rowOf(account.id);
    const stale = { accessTokenEnc: "k2.stale.ciphertext", extrasEnc: row?.extras_enc as string | null };
    const saved = await saveSelectedPage(
      db,
      ws.id,
      account.id,
      { selectedPageId: "1", selectedPageName: "One" },
      stale,
      Date.now(),
    );
    expect(saved).toBeUndefined();
    expect((await rowOf(account.id))?.selected_page_id).toBeNull();
  });
});
