import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DAY } from "../../src/lib/time";
import { timedFetch } from "../../src/platforms/http";
import { facebookLoginContext, instagram } from "../../src/platforms/instagram";
import { GRAPH_VERSION } from "../../src/platforms/meta";
import type { PlatformContext } from "../../src/platforms/types";
import { facebookMe } from "../../src/platforms/wire/meta";
import { type CallOptions, call, createWorkspace, type TestWorkspace } from "../helpers/api";
import { CALLBACK } from "../helpers/connect";
import type { FakeGrant, FakePlatform, FakeProfile, FakeRequest } from "../helpers/fake-provider";
import { fakeFor, graphError, issuedSecrets, oauthFake } from "../helpers/platform-fakes";
import { extrasOf, rowOf } from "../helpers/rows";

let responses: { path: string; text: string }[] = [];

async function api(path: string, options: CallOptions = {}) {
  const res = await call(path, options);
  responses.push({ path, text: res.text });
  return res;
}

const FB_SCOPES =
  "instagram_basic,instagram_content_publish,pages_show_list,pages_read_engagement,business_management,instagram_manage_insights";
const IG_ID = "17841400000000001";
const PAGE_ID = "112233445566778";
/** A Page the user reaches only through their business, and its linked Instagram business account. */
const BIZ_PAGE_ID = "112233445566779";
const BIZ_IG_ID = "17841400000000002";
const BUSINESS_ID = "998877665544332";

let fb: FakePlatform;
let ig: FakePlatform;
let graph: ReturnType<typeof facebookLoginApi>;
let ws: TestWorkspace;

/**
 * Instagram's API with Facebook Login, served where the tests point Instagram's apiBaseUrl: the
 * tokens are Facebook's (issued by the facebook fake), so each handler looks the grant up there.
 */
function facebookLoginApi(fake: FakePlatform) {
  // One Page token per user grant and Page, the same at every listing, dead once the user deauthorizes.
  const pageTokens = new Map<FakeGrant, Map<string, string>>();
  const pageTokenOf = (grant: FakeGrant, pageId = PAGE_ID) => {
    const ofGrant = pageTokens.get(grant) ?? new Map<string, string>();
    const token = ofGrant.get(pageId) ?? fake.token("page");
    pageTokens.set(grant, ofGrant.set(pageId, token));
    return token;
  };
  const grantOfPageToken = (token: string | undefined) =>
    [...pageTokens].find(([, ofGrant]) => [...ofGrant.values()].includes(token ?? ""))?.[0];
  const authed =
    (handler: (req: FakeRequest, grant: FakeGrant) => Response, { pageToken = false } = {}) =>
    (req: FakeRequest) => {
      const token = req.request.headers.get("authorization")?.replace(/^Bearer /i, "");
      const grant = fb.grantByAccess(token) ?? (pageToken ? grantOfPageToken(token) : undefined);
      return grant && !grant.revoked
        ? handler(req, grant)
        : graphError(190, 400, "Invalid OAuth access token data.");
    };
  fake.api(
    `GET /${GRAPH_VERSION}/me`,
    authed((req, grant) => Response.json(facebookMe(grant.profile, req.url.searchParams.get("fields")))),
  );
  fake.api(
    `DELETE /${GRAPH_VERSION}/me/permissions`,
    authed((_req, grant) => {
      grant.revoked = true;
      return Response.json({ success: true });
    }),
  );
  fake.api(
    `GET /${GRAPH_VERSION}/me/accounts`,
    authed((_req, grant) =>
      Response.json({
        data: [
          {
            access_token: pageTokenOf(grant),
            name: "Vox Burst",
            id: PAGE_ID,
            instagram_business_account: {
              id: IG_ID,
              username: "voxburst",
              name: "Vox Burst",
              profile_picture_url: "https://scontent.cdninstagram.com/vox.jpg",
            },
          },
        ],
        paging: { cursors: { before: "a", after: "b" } },
      }),
    ),
  );
  // A business edge's Page nodes carry the linked account only when the fields ask for it.
  const askedInstagram = (req: FakeRequest) =>
    Boolean(req.url.searchParams.get("fields")?.includes("instagram_business_account{"));
  // The user's one business manages the /me/accounts Page for a client and owns no Page of its own
  // until a test says so (businessOwnedPage).
  fake.api(
    `GET /${GRAPH_VERSION}/me/businesses`,
    authed(() =>
      Response.json({ data: [{ id: BUSINESS_ID, name: "Vox Agency" }], paging: { cursors: { after: "c" } } }),
    ),
  );
  fake.api(
    `GET /${GRAPH_VERSION}/${BUSINESS_ID}/owned_pages`,
    authed(() => Response.json({ data: [], paging: { cursors: {} } })),
  );
  fake.api(
    `GET /${GRAPH_VERSION}/${BUSINESS_ID}/client_pages`,
    authed((req) =>
      Response.json({
        data: [
          {
            name: "Vox Burst",
            id: PAGE_ID,
            ...(askedInstagram(req) ? { instagram_business_account: { id: IG_ID } } : {}),
          },
        ],
        paging: { cursors: { after: "d" } },
      }),
    ),
  );
  const node = (id: string, username: string, name: string) =>
    authed(
      (req) => {
        const fields = (req.url.searchParams.get("fields") ?? "").split(",");
        const all: Record<string, string> = {
          id,
          username,
          name,
          profile_picture_url: `https://scontent.cdninstagram.com/${username}.jpg`,
        };
        return Response.json(
          Object.fromEntries(Object.entries(all).filter(([k]) => k === "id" || fields.includes(k))),
        );
      },
      { pageToken: true },
    );
  fake.api(`GET /${GRAPH_VERSION}/${IG_ID}`, node(IG_ID, "voxburst", "Vox Burst"));
  fake.api(`GET /${GRAPH_VERSION}/${BIZ_IG_ID}`, node(BIZ_IG_ID, "voxstudio", "Vox Studio"));
  return {
    /** The business also owns BIZ_PAGE_ID, linked to BIZ_IG_ID, with a Page token of its own. */
    businessOwnedPage() {
      fake.api(
        `GET /${GRAPH_VERSION}/${BUSINESS_ID}/owned_pages`,
        authed((req, grant) =>
          Response.json({
            data: [
              {
                access_token: pageTokenOf(grant, BIZ_PAGE_ID),
                name: "Vox Studio Page",
                id: BIZ_PAGE_ID,
                ...(askedInstagram(req)
                  ? {
                      instagram_business_account: {
                        id: BIZ_IG_ID,
                        username: "voxstudio",
                        name: "Vox Studio",
                        profile_picture_url: "https://scontent.cdninstagram.com/voxstudio.jpg",
                      },
                    }
                  : {}),
              },
            ],
            paging: { cursors: { after: "e" } },
          }),
        ),
      );
    },
  };
}

const ada = (): FakeProfile => ({
  id: `10${Math.floor(Math.random() * 1e13)}`,
  username: "unused",
  name: "Ada Lovelace",
  avatarUrl: "https://scontent.xx.fbcdn.net/v/ada.jpg",
});

beforeEach(async () => {
  responses = [];
  fb = oauthFake("facebook");
  ig = fakeFor("instagram");
  graph = facebookLoginApi(ig);
  ws = await createWorkspace();
});

afterEach(() => {
  const leaks: string[] = [];
  for (const { path, text } of responses) {
    for (const secret of issuedSecrets) if (text.includes(secret)) leaks.push(`${path}: ${secret}`);
  }
  expect(leaks, "tokens issued by a fake found in a response").toEqual([]);
});

async function record(path: string, options: CallOptions = {}) {
  const res = await call(path, options);
  responses.push({ path, text: res.text });
  return res;
}

/** Connect (or reconnect, with `path`) through Facebook Login and play the Facebook dialog. */
async function connectThroughFacebook(profile: FakeProfile, path = "/v1/accounts/connect/instagram") {
  const started = await record(path, {
    method: "POST",
    key: ws.key,
    body: { callbackUrl: CALLBACK, ...(path.endsWith("/instagram") ? { facebookLogin: true } : {}) },
  });
  expect(started.status, started.text).toBe(200);
  const url = new URL(started.json.authorizationUrl);
  const code = fb.issueCode(profile, {
    scopes: url.searchParams.get("scope")?.split(",") ?? [],
    challenge: url.searchParams.get("code_challenge") ?? undefined,
    redirectUri: url.searchParams.get("redirect_uri") ?? undefined,
  });
  const done = await record("/v1/accounts/callback/instagram", {
    method: "POST",
    key: ws.key,
    body: { code, state: started.json.state },
  });
  return { url, done };
}

describe("Instagram through Facebook Login: OAuth", () => {
  it("authorizes at Facebook's dialog with the Instagram-via-Facebook scopes, PKCE and Instagram's redirect URI", async () => {
    const res = await record("/v1/accounts/connect/instagram", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK, facebookLogin: true },
    });
    expect(res.status, res.text).toBe(200);
    const url = new URL(res.json.authorizationUrl);
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/facebook/authorize");
    expect(url.searchParams.get("client_id")).toBe("facebook-client-id");
    expect(url.searchParams.get("scope")).toBe(FB_SCOPES);
    expect(url.searchParams.get("redirect_uri")).toBe("https://switchboard.test/v1/oauth/redirect/instagram");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("state")).toBe(res.json.state);
  });

  it("leaves the Instagram Login flow as it was without the option", async () => {
    const res = await record("/v1/accounts/connect/instagram", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK },
    });
    const url = new URL(res.json.authorizationUrl);
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/instagram/authorize");
    expect(url.searchParams.get("client_id")).toBe("instagram-client-id");
  });

  it("refuses facebookLogin for another platform, naming the field", async () => {
    const res = await record("/v1/accounts/connect/twitter", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK, facebookLogin: true },
    });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: "INVALID_PARAM", details: [{ field: "facebookLogin" }] });
  });

  it("exchanges the code with Facebook, goes long-lived, reads the Facebook user, and schedules no refresh", async () => {
    const user = ada();
    const { done } = await connectThroughFacebook(user);
    expect(done.status, done.text).toBe(200);
    expect(done.json.account).toMatchObject({
      platform: "instagram",
      platformUserId: user.id,
      username: null,
      displayName: "Ada Lovelace",
      avatarUrl: user.avatarUrl,
      status: "active",
      connectionType: "oauth",
      selectedPage: null,
    });
    expect(done.json.account.permissions).toEqual([...FB_SCOPES.split(","), "public_profile"]);
    const expires = Date.parse(done.json.account.tokenExpiresAt);
    expect(expires).toBeGreaterThan(Date.now() + 59 * DAY);
    // Facebook's token endpoint with Facebook's client, then fb_exchange_token: Instagram's OAuth is untouched.
    expect(fb.tokenRequests).toBe(1);
    expect(fb.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST /token",
      "GET /api/oauth/access_token",
      "GET /api/me/permissions",
    ]);
    expect(new URLSearchParams(fb.calls[0]?.body).get("client_secret")).toBe("facebook-client-secret");
    expect(ig.tokenRequests).toBe(0);
    expect(ig.calls.map((c) => `${c.method} ${c.path}`)).toEqual([`GET /api/${GRAPH_VERSION}/me`]);
    const row = await rowOf(done.json.account.id);
    expect(row?.next_refresh_at).toBeNull();
    expect(await extrasOf(done.json.account.id)).toEqual({ oauthVersion: "fb_login" });
  });

  it("lists and selects the business account, after which test answers the Instagram account", async () => {
    const { done } = await connectThroughFacebook(ada());
    const id = done.json.account.id as string;
    const before = await record(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect(before.json).toMatchObject({
      success: true,
      details: { displayName: "Ada Lovelace", username: null },
    });

    const pages = await api(`/v1/accounts/${id}/pages`, { key: ws.key });
    expect(pages.json).toEqual({
      pages: [
        {
          id: IG_ID,
          name: "@voxburst",
          pageId: PAGE_ID,
          pageName: "Vox Burst",
          type: "instagram",
          avatarUrl: "https://scontent.cdninstagram.com/vox.jpg",
        },
      ],
    });
    const selected = await api(`/v1/accounts/${id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: PAGE_ID, pageName: "Page Display Name" },
    });
    expect(selected.status, selected.text).toBe(200);
    expect(selected.json.account).toMatchObject({ username: "@voxburst", selectedPage: { id: PAGE_ID } });
    const extras = await extrasOf(id);
    expect(extras).toMatchObject({ oauthVersion: "fb_login", igUserId: IG_ID, pageId: PAGE_ID });
    expect(typeof extras.pageAccessToken).toBe("string");
    expect(extras.userAccessToken).toBe(fb.grants[0]?.accessToken);
    // The Page token does not expire, so neither does the account's credential.
    expect(selected.json.account.tokenExpiresAt).toBeNull();

    const after = await record(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect(after.json).toEqual({
      success: true,
      message: "Connection verified",
      details: { platformUserId: IG_ID, username: "@voxburst", displayName: "Vox Burst" },
    });
    const nodeCall = ig.calls.filter((c) => c.path === `/api/${GRAPH_VERSION}/${IG_ID}`).at(-1);
    expect(nodeCall?.headers.get("authorization")).toBe(`Bearer ${extras.pageAccessToken}`);

    // Disconnecting revokes with the user token, which the Page token dies with.
    const gone = await record(`/v1/accounts/${id}`, { method: "DELETE", key: ws.key });
    expect(gone.status, gone.text).toBe(200);
    const revoke = ig.calls.find((c) => c.method === "DELETE");
    expect(revoke?.headers.get("authorization")).toBe(`Bearer ${extras.userAccessToken}`);
    expect(fb.grants[0]?.revoked).toBe(true);
  });

  it("reconnects through Facebook again, keeping the selected business account", async () => {
    const user = ada();
    const { done } = await connectThroughFacebook(user);
    const id = done.json.account.id as string;
    await api(`/v1/accounts/${id}/select-page`, { method: "POST", key: ws.key, body: { pageId: PAGE_ID } });
    const { url, done: again } = await connectThroughFacebook(user, `/v1/accounts/${id}/reconnect`);
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/facebook/authorize");
    expect(url.searchParams.get("scope")).toBe(FB_SCOPES);
    expect(again.status, again.text).toBe(200);
    expect(again.json.account.id).toBe(id);
    // The fresh user token's Page token stays the credential, and the account stays the business account.
    expect(again.json.account).toMatchObject({
      tokenExpiresAt: null,
      username: "@voxburst",
      displayName: "Vox Burst",
      selectedPage: { id: PAGE_ID },
    });
    expect(again.json.warning).toBeUndefined();
    const extras = await extrasOf(id);
    expect(extras).toMatchObject({ oauthVersion: "fb_login", igUserId: IG_ID, pageId: PAGE_ID });
    expect(extras.userAccessToken).toBe(fb.grants[1]?.accessToken);
    expect(typeof extras.pageAccessToken).toBe("string");
    const test = await record(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect(test.json.details.platformUserId).toBe(IG_ID);
    const nodeCall = ig.calls.filter((c) => c.path === `/api/${GRAPH_VERSION}/${IG_ID}`).at(-1);
    expect(nodeCall?.headers.get("authorization")).toBe(`Bearer ${extras.pageAccessToken}`);

    const refused = await record(`/v1/accounts/${id}/reconnect`, {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK, facebookLogin: true },
    });
    expect(refused.status).toBe(400);
  });
});

describe("Instagram through Facebook Login: Pages through the user's businesses", () => {
  const businessCalls = () => ig.calls.filter((c) => /businesses|_pages$/.test(c.path)).map((c) => c.path);

  it("lists an account on a business-owned Page, a Page also listed by a business once, and selects it with the business edge's Page token", async () => {
    graph.businessOwnedPage();
    const { done } = await connectThroughFacebook(ada());
    const id = done.json.account.id as string;
    const pages = await api(`/v1/accounts/${id}/pages`, { key: ws.key });
    expect(pages.status, pages.text).toBe(200);
    expect(pages.json.pages).toEqual([
      expect.objectContaining({ id: IG_ID, pageId: PAGE_ID, pageName: "Vox Burst" }),
      {
        id: BIZ_IG_ID,
        name: "@voxstudio",
        pageId: BIZ_PAGE_ID,
        pageName: "Vox Studio Page",
        type: "instagram",
        avatarUrl: "https://scontent.cdninstagram.com/voxstudio.jpg",
      },
    ]);
    expect(businessCalls().sort()).toEqual([
      `/api/${GRAPH_VERSION}/${BUSINESS_ID}/client_pages`,
      `/api/${GRAPH_VERSION}/${BUSINESS_ID}/owned_pages`,
      `/api/${GRAPH_VERSION}/me/businesses`,
    ]);

    const selected = await api(`/v1/accounts/${id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: BIZ_PAGE_ID },
    });
    expect(selected.status, selected.text).toBe(200);
    expect(selected.json.account).toMatchObject({
      username: "@voxstudio",
      accountType: "business",
      tokenExpiresAt: null,
      selectedPage: { id: BIZ_PAGE_ID, name: "Vox Studio Page" },
    });
    const extras = await extrasOf(id);
    expect(extras).toMatchObject({ oauthVersion: "fb_login", igUserId: BIZ_IG_ID, pageId: BIZ_PAGE_ID });
    expect(extras.userAccessToken).toBe(fb.grants[0]?.accessToken);
    expect(typeof extras.pageAccessToken).toBe("string");
    expect(extras.pageAccessToken).not.toBe(extras.userAccessToken);

    const test = await record(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect(test.json.details).toEqual({
      platformUserId: BIZ_IG_ID,
      username: "@voxstudio",
      displayName: "Vox Studio",
    });
    const nodeCall = ig.calls.filter((c) => c.path === `/api/${GRAPH_VERSION}/${BIZ_IG_ID}`).at(-1);
    expect(nodeCall?.headers.get("authorization")).toBe(`Bearer ${extras.pageAccessToken}`);
  });

  it("reconnects keeping the business-owned Page's account, on the fresh grant's Page token", async () => {
    graph.businessOwnedPage();
    const user = ada();
    const { done } = await connectThroughFacebook(user);
    const id = done.json.account.id as string;
    await api(`/v1/accounts/${id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: BIZ_PAGE_ID },
    });
    const first = await extrasOf(id);
    const { done: again } = await connectThroughFacebook(user, `/v1/accounts/${id}/reconnect`);
    expect(again.status, again.text).toBe(200);
    expect(again.json.warning).toBeUndefined();
    expect(again.json.account).toMatchObject({ username: "@voxstudio", selectedPage: { id: BIZ_PAGE_ID } });
    const extras = await extrasOf(id);
    expect(extras).toMatchObject({ igUserId: BIZ_IG_ID, pageId: BIZ_PAGE_ID });
    expect(extras.userAccessToken).toBe(fb.grants[1]?.accessToken);
    expect(typeof extras.pageAccessToken).toBe("string");
    expect(extras.pageAccessToken).not.toBe(first.pageAccessToken);
  });

  it("skips a client_pages edge Graph refuses with a permissions error", async () => {
    graph.businessOwnedPage();
    ig.api(`GET /${GRAPH_VERSION}/${BUSINESS_ID}/client_pages`, () =>
      graphError(200, 403, "Permissions error"),
    );
    const { done } = await connectThroughFacebook(ada());
    const pages = await api(`/v1/accounts/${done.json.account.id}/pages`, { key: ws.key });
    expect(pages.status, pages.text).toBe(200);
    expect(pages.json.pages.map((p: { id: string }) => p.id)).toEqual([IG_ID, BIZ_IG_ID]);
  });

  it("reads no businesses for a grant without business_management", async () => {
    graph.businessOwnedPage();
    const scopes = FB_SCOPES.split(",").filter((scope) => scope !== "business_management");
    const grant = fb.newGrant(ada(), scopes);
    const created = await record("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: {
        platform: "instagram",
        credentials: { accessToken: grant.accessToken, oauthVersion: "fb_login" },
      },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json.account.permissions).not.toContain("business_management");
    const pages = await api(`/v1/accounts/${created.json.account.id}/pages`, { key: ws.key });
    expect(pages.json.pages.map((p: { id: string }) => p.id)).toEqual([IG_ID]);
    expect(businessCalls()).toEqual([]);
  });
});

describe("Instagram through Facebook Login: bring your own token", () => {
  it("verifies a Facebook user token against the Graph API and stores it with oauthVersion fb_login", async () => {
    const user = ada();
    const grant = fb.newGrant(user, FB_SCOPES.split(","));
    const res = await record("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: {
        platform: "instagram",
        credentials: {
          accessToken: grant.accessToken,
          oauthVersion: "fb_login",
          expiresAt: new Date(Date.now() + 50 * DAY).toISOString(),
        },
      },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.account).toMatchObject({
      platform: "instagram",
      platformUserId: user.id,
      displayName: "Ada Lovelace",
      connectionType: "byok",
    });
    expect(await extrasOf(res.json.account.id)).toEqual({ oauthVersion: "fb_login" });
    expect((await rowOf(res.json.account.id))?.next_refresh_at).toBeNull();
    const pages = await api(`/v1/accounts/${res.json.account.id}/pages`, { key: ws.key });
    expect(pages.json.pages).toHaveLength(1);
  });

  it("with igUserId, connects the Instagram business account itself", async () => {
    const grant = fb.newGrant(ada(), FB_SCOPES.split(","));
    const res = await record("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: {
        platform: "instagram",
        platformAccountId: IG_ID,
        credentials: { accessToken: grant.accessToken, oauthVersion: "fb_login", igUserId: IG_ID },
      },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.account).toMatchObject({
      platformUserId: IG_ID,
      username: "@voxburst",
      accountType: "business",
    });
  });

  it("rejects a token Facebook does not accept, and oauthVersion on another platform", async () => {
    const bad = await record("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "instagram", credentials: { accessToken: "not-a-token", oauthVersion: "fb_login" } },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details).toEqual([{ field: "credentials", message: "Rejected by the platform" }]);
    const other = await record("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "twitter", credentials: { accessToken: "x", oauthVersion: "fb_login" } },
    });
    expect(other.status).toBe(400);
    expect(other.json.error.details[0].field).toBe("credentials.oauthVersion");
  });
});

describe("facebookLoginContext", () => {
  const ctx = (apiBaseUrl: string): PlatformContext => ({
    platform: "instagram",
    endpoints: { ...instagram.endpoints, apiBaseUrl },
    clientId: "",
    clientSecret: "",
    allowHttp: true,
    fetch: timedFetch(),
    now: Date.now(),
  });

  it("sends Facebook-Login calls to graph.facebook.com instead of graph.instagram.com", () => {
    expect(facebookLoginContext(ctx("https://graph.instagram.com")).endpoints.apiBaseUrl).toBe(
      "https://graph.facebook.com",
    );
  });

  it("keeps a deployment's override of Instagram's API base", () => {
    expect(facebookLoginContext(ctx("https://fake.test/instagram/api")).endpoints.apiBaseUrl).toBe(
      "https://fake.test/instagram/api",
    );
  });
});
