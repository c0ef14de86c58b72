import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { testConnection } from "../../src/features/accounts/connection.service";
import { runScheduled } from "../../src/jobs";
import { DAY } from "../../src/lib/time";
import { facebookMe, facebookPageList } from "../../src/platforms/wire/meta";
import { call, createWorkspace, type TestWorkspace } from "../helpers/api";
import { CALLBACK } from "../helpers/connect";
import type { FakeGrant, FakePlatform, FakeRequest } from "../helpers/fake-provider";
import { graphError, handlerOf, oauthFake } from "../helpers/platform-fakes";
import { extrasOf, rowOf } from "../helpers/rows";

const PAGE = { id: "112233445566778", name: "Vox Burst" };
/** The long-lived user token's life, as the Facebook fake's exchange answers it. */
const USER_TOKEN_TTL_MS = 5_183_944 * 1000;

let ws: TestWorkspace;
let fb: FakePlatform;
/** The time Facebook's side believes it is; a user token dies USER_TOKEN_TTL_MS after it was issued. */
let clock: number;
const issuedAt = new Map<string, number>();
const pageTokens = new Map<string, FakeGrant>();
/** The Pages /me/accounts lists; a test empties it to take the Page away from the user. */
let listed: { id: string; name: string }[];

const bearer = (req: FakeRequest) => req.request.headers.get("authorization")?.replace(/^Bearer /i, "");

/**
 * Facebook with time: the user token expires after ~60 days; a Page token from /me/accounts does
 * not, and /me read with it is the Page.
 */
function facebookWithTime() {
  fb = oauthFake("facebook");
  const me = handlerOf(fb, "GET /me");
  const liveUser = (req: FakeRequest) => {
    const token = bearer(req) ?? "";
    if (!req.grant) return undefined;
    if (!issuedAt.has(token)) issuedAt.set(token, clock);
    return clock < (issuedAt.get(token) ?? clock) + USER_TOKEN_TTL_MS ? req.grant : undefined;
  };
  fb.api("GET /me", (req) => {
    const page = pageTokens.get(bearer(req) ?? "");
    if (page && !page.revoked)
      return Response.json(facebookMe({ ...PAGE, username: "" }, req.url.searchParams.get("fields")));
    if (!liveUser(req)) return graphError(190, 400, "Error validating access token: Session has expired");
    return me(req);
  });
  fb.api("GET /me/accounts", (req) => {
    const grant = liveUser(req);
    if (!grant) return graphError(190, 400, "Error validating access token: Session has expired");
    const token = fb.token("page");
    pageTokens.set(token, grant);
    return Response.json(
      facebookPageList(
        listed.map((page) => ({ ...page, accessToken: token })),
        req.url.searchParams.get("fields"),
      ),
    );
  });
}

/** Connects (or reconnects, with `path`) a Facebook user through OAuth at `clock`; answers the callback. */
async function oauthFacebook(userId: string, path = "/v1/accounts/connect/facebook") {
  const started = await call(path, {
    method: "POST",
    key: ws.key,
    body: { callbackUrl: CALLBACK },
  });
  expect(started.status, started.text).toBe(200);
  const url = new URL(started.json.authorizationUrl);
  const code = fb.issueCode(
    { id: userId, username: "unused", name: "Ada Lovelace" },
    {
      scopes: url.searchParams.get("scope")?.split(",") ?? [],
      challenge: url.searchParams.get("code_challenge") ?? undefined,
      redirectUri: url.searchParams.get("redirect_uri") ?? undefined,
    },
  );
  const done = await call("/v1/accounts/callback/facebook", {
    method: "POST",
    key: ws.key,
    body: { code, state: started.json.state },
  });
  expect(done.status, done.text).toBe(200);
  return done;
}

const connectFacebook = async (userId: string) => (await oauthFacebook(userId)).json.account.id as string;

const selectPage = async (id: string) => {
  const selected = await call(`/v1/accounts/${id}/select-page`, {
    method: "POST",
    key: ws.key,
    body: { pageId: PAGE.id },
  });
  expect(selected.status, selected.text).toBe(200);
};

const errorEvents = async (accountId: string) =>
  (
    await env.DB.prepare("SELECT payload FROM events WHERE type = 'account.error'").all<{ payload: string }>()
  ).results.filter((r) => r.payload.includes(accountId));

beforeEach(async () => {
  ws = await createWorkspace();
  clock = Date.now();
  issuedAt.clear();
  pageTokens.clear();
  listed = [PAGE];
  facebookWithTime();
});

describe("a Facebook Page's token as the account's credential", () => {
  it("day 61 after connecting a Facebook page it is still active and test passes", async () => {
    const id = await connectFacebook(`10${Math.floor(Math.random() * 1e13)}`);
    const selected = await call(`/v1/accounts/${id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: PAGE.id },
    });
    expect(selected.status, selected.text).toBe(200);
    expect(selected.json.account.tokenExpiresAt).toBeNull();
    const extras = await extrasOf(id);
    expect(extras.userAccessToken).toBe(fb.grants[0]?.accessToken);
    expect(pageTokens.has(String(extras.pageAccessToken))).toBe(true);

    const day61 = Date.now() + 61 * DAY;
    clock = day61;
    await runScheduled(env, day61);
    const row = await rowOf(id);
    expect(row?.status).toBe("active");
    expect(row?.token_expires_at).toBeNull();
    expect(await errorEvents(id)).toEqual([]);

    const test = await testConnection({ env, db: createDb(env.DB), now: day61 }, ws.id, id);
    expect(test).toEqual({
      success: true,
      message: "Connection verified",
      details: { platformUserId: PAGE.id, username: null, displayName: PAGE.name },
    });
    expect((await rowOf(id))?.status).toBe("active");
  });

  it("an account without a selected Page still expires with its user token, once", async () => {
    const id = await connectFacebook(`10${Math.floor(Math.random() * 1e13)}`);
    const day61 = Date.now() + 61 * DAY;
    clock = day61;
    await runScheduled(env, day61);
    await runScheduled(env, day61 + 60_000);
    expect((await rowOf(id))?.status).toBe("expired");
    expect(await errorEvents(id)).toHaveLength(1);
    const test = await testConnection({ env, db: createDb(env.DB), now: day61 }, ws.id, id);
    expect(test.success).toBe(false);
  });

  it("a reconnect keeps the selected Page's fresh token as the credential, with no expiry", async () => {
    const userId = `10${Math.floor(Math.random() * 1e13)}`;
    const id = await connectFacebook(userId);
    await selectPage(id);
    const again = await oauthFacebook(userId, `/v1/accounts/${id}/reconnect`);
    expect(again.json.account).toMatchObject({ id, tokenExpiresAt: null, selectedPage: { id: PAGE.id } });
    expect(again.json.warning).toBeUndefined();
    const extras = await extrasOf(id);
    expect(extras.userAccessToken).toBe(fb.grants[1]?.accessToken);
    expect(pageTokens.get(String(extras.pageAccessToken))).toBe(fb.grants[1]);
    expect((await rowOf(id))?.next_refresh_at).toBeNull();

    const day61 = Date.now() + 61 * DAY;
    clock = day61;
    await runScheduled(env, day61);
    expect((await rowOf(id))?.status).toBe("active");
    expect(await errorEvents(id)).toEqual([]);
    const test = await testConnection({ env, db: createDb(env.DB), now: day61 }, ws.id, id);
    expect(test.details?.platformUserId).toBe(PAGE.id);
  });

  it("a reconnect whose login no longer manages the selected Page clears the selection and says so", async () => {
    const userId = `10${Math.floor(Math.random() * 1e13)}`;
    const id = await connectFacebook(userId);
    await selectPage(id);
    listed = [];
    const again = await oauthFacebook(userId, `/v1/accounts/${id}/reconnect`);
    expect(again.json.account).toMatchObject({ id, selectedPage: null });
    expect(Date.parse(again.json.account.tokenExpiresAt)).toBeGreaterThan(Date.now() + 59 * DAY);
    expect(again.json.warning).toContain(`The selected Page (${PAGE.name}) is no longer among the Pages`);
    const extras = await extrasOf(id);
    for (const key of ["pageId", "pageName", "pageAccessToken", "userAccessToken"]) {
      expect(extras[key], key).toBeUndefined();
    }
    const test = await testConnection({ env, db: createDb(env.DB), now: Date.now() }, ws.id, id);
    expect(test.details?.platformUserId).toBe(userId);
  });

  it("a reconnect whose Page listing fails keeps the selection with the user token and says so", async () => {
    const userId = `10${Math.floor(Math.random() * 1e13)}`;
    const id = await connectFacebook(userId);
    await selectPage(id);
    fb.api("GET /me/accounts", () => graphError(2, 500, "An unexpected error has occurred"));
    const again = await oauthFacebook(userId, `/v1/accounts/${id}/reconnect`);
    expect(again.json.account).toMatchObject({ id, selectedPage: { id: PAGE.id } });
    expect(Date.parse(again.json.account.tokenExpiresAt)).toBeGreaterThan(Date.now() + 59 * DAY);
    expect(again.json.warning).toContain("could not be renewed");
    const test = await testConnection({ env, db: createDb(env.DB), now: Date.now() }, ws.id, id);
    expect(test.details?.platformUserId).toBe(userId);
  });
});
