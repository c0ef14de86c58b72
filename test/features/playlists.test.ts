import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { googleInsufficientScope } from "../../src/platforms/wire/google";
import {
  type CallOptions,
  call,
  createWorkspace,
  insertAccount,
  issueKey,
  type TestWorkspace,
} from "../helpers/api";
import { connectAccount } from "../helpers/connect";
import type { FakeGrant, FakePlatform, FakeRequest } from "../helpers/fake-provider";
import { googleUnauthenticated, issuedSecrets, oauthFake, sendError } from "../helpers/platform-fakes";
import { rowOf } from "../helpers/rows";

let responses: string[] = [];

async function api(path: string, options: CallOptions = {}) {
  const res = await call(path, options);
  responses.push(res.text);
  return res;
}

const SCOPE = "https://www.googleapis.com/auth/";
const UPLOAD_ONLY = [`${SCOPE}youtube.upload`];
const FULL = [`${SCOPE}youtube.upload`, `${SCOPE}youtube.readonly`, `${SCOPE}yt-analytics.readonly`];

let fake: FakePlatform;
let ws: TestWorkspace;
let seen: URL[];
/** Playlists of the fake channel, served 50 at most per page. */
let playlists: { id: string; title: string }[];

/** Google's answer to a token without a playlist read scope (youtube.playlists.list). */
const insufficientScope = () =>
  sendError(
    googleInsufficientScope({
      service: "youtube.googleapis.com",
      method: "youtube.api.v3.V3DataPlaylistService.List",
      scope: `${SCOPE}youtube.readonly`,
    }),
  );

/** GET /youtube/v3/playlists?part=snippet&mine=true: a youtube#playlistListResponse, paged by pageToken. */
function playlistsHandler({ grant, url }: FakeRequest): Response {
  seen.push(url);
  if (!grant) return googleUnauthenticated();
  if (!grant.scopes.some((s) => s === `${SCOPE}youtube.readonly` || s === `${SCOPE}youtube`))
    return insufficientScope();
  const size = Math.min(50, Number(url.searchParams.get("maxResults") ?? 5));
  const start = Number(url.searchParams.get("pageToken")?.replace("CAUQAA-", "") ?? 0);
  const items = playlists.slice(start, start + size);
  const next = start + size < playlists.length ? `CAUQAA-${start + size}` : undefined;
  return Response.json({
    kind: "youtube#playlistListResponse",
    etag: "etag-p",
    ...(next ? { nextPageToken: next } : {}),
    pageInfo: { totalResults: playlists.length, resultsPerPage: size },
    items: items.map((p) => ({
      kind: "youtube#playlist",
      etag: `etag-${p.id}`,
      id: p.id,
      snippet: {
        publishedAt: "2024-05-01T10:00:00Z",
        channelId: grant.profile.id,
        title: p.title,
        description: "",
        thumbnails: { default: { url: "https://i.ytimg.com/vi/x/default.jpg", width: 120, height: 90 } },
        channelTitle: grant.profile.name,
        localized: { title: p.title, description: "" },
      },
    })),
  });
}

beforeEach(async () => {
  responses = [];
  seen = [];
  playlists = [
    { id: "PLxxxxxxxxxxxxxxxxxx", title: "My Tutorial Series" },
    { id: "PLyyyyyyyyyyyyyyyyyy", title: "Product Demos" },
  ];
  fake = oauthFake("youtube");
  fake.api("GET /youtube/v3/playlists", playlistsHandler);
  ws = await createWorkspace();
});

afterEach(() => {
  for (const secret of issuedSecrets) for (const text of responses) expect(text).not.toContain(secret);
});

const channel = () => ({ id: `UC${crypto.randomUUID().slice(0, 20)}`, username: "@vox", name: "Vox Burst" });

async function youtubeAccount(scopes: string[], grantScopes = scopes) {
  const grant: FakeGrant = fake.newGrant(channel(), grantScopes);
  const account = await insertAccount(ws.id, {
    platform: "youtube",
    platformUserId: grant.profile.id,
    scopes,
    credentials: { accessToken: grant.accessToken },
  });
  return account;
}

describe("GET /v1/accounts/:id/youtube/playlists", () => {
  it("answers the channel's playlists", async () => {
    const account = await youtubeAccount(FULL);
    const res = await api(`/v1/accounts/${account.id}/youtube/playlists`, { key: ws.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({
      playlists: [
        { id: "PLxxxxxxxxxxxxxxxxxx", title: "My Tutorial Series" },
        { id: "PLyyyyyyyyyyyyyyyyyy", title: "Product Demos" },
      ],
    });
    expect(seen[0]?.searchParams.get("part")).toBe("snippet");
    expect(seen[0]?.searchParams.get("mine")).toBe("true");
    expect(seen[0]?.searchParams.get("maxResults")).toBe("50");
    expect(fake.calls[0]?.headers.get("authorization")).toMatch(/^Bearer /);
  });

  it("follows nextPageToken, and stops at 10 pages", async () => {
    playlists = Array.from({ length: 120 }, (_, i) => ({ id: `PL${i}`, title: `List ${i}` }));
    const account = await youtubeAccount(FULL);
    const res = await api(`/v1/accounts/${account.id}/youtube/playlists`, { key: ws.key });
    expect(res.json.playlists).toHaveLength(120);
    expect(seen.map((u) => u.searchParams.get("pageToken"))).toEqual([null, "CAUQAA-50", "CAUQAA-100"]);

    seen = [];
    playlists = Array.from({ length: 600 }, (_, i) => ({ id: `PL${i}`, title: `List ${i}` }));
    const capped = await api(`/v1/accounts/${account.id}/youtube/playlists`, { key: ws.key });
    expect(capped.json.playlists).toHaveLength(500);
    expect(seen).toHaveLength(10);
  });

  it("answers requiresReauth without calling YouTube when the grant lacks the read scope, and flags the account", async () => {
    const account = await youtubeAccount(UPLOAD_ONLY);
    const res = await api(`/v1/accounts/${account.id}/youtube/playlists`, { key: ws.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ playlists: [], requiresReauth: true });
    expect(seen).toHaveLength(0);
    expect((await rowOf(account.id))?.needs_playlist_reauth).toBe(1);
    const shown = await call(`/v1/accounts/${account.id}`, { key: ws.key });
    expect(shown.json.needsPlaylistReauth).toBe(true);
  });

  it("answers requiresReauth when Google says insufficientPermissions for a grant of unknown scope", async () => {
    const account = await youtubeAccount([], UPLOAD_ONLY);
    const res = await api(`/v1/accounts/${account.id}/youtube/playlists`, { key: ws.key });
    expect(res.json).toEqual({ playlists: [], requiresReauth: true });
    expect(seen).toHaveLength(1);
    expect((await rowOf(account.id))?.needs_playlist_reauth).toBe(1);
  });

  it("clears the flag once playlists can be read again", async () => {
    const account = await youtubeAccount(FULL);
    await env.DB.prepare("UPDATE accounts SET needs_playlist_reauth = 1 WHERE id = ?").bind(account.id).run();
    const res = await api(`/v1/accounts/${account.id}/youtube/playlists`, { key: ws.key });
    expect(res.json.requiresReauth).toBeUndefined();
    expect((await rowOf(account.id))?.needs_playlist_reauth).toBe(0);
  });

  it("a reconnect that grants the read scope clears needsPlaylistReauth", async () => {
    const user = channel();
    const first = await connectAccount(ws, fake, user, { scopes: UPLOAD_ONLY });
    expect(first.status, first.text).toBe(200);
    const id = first.json.account.id as string;
    expect((await api(`/v1/accounts/${id}/youtube/playlists`, { key: ws.key })).json.requiresReauth).toBe(
      true,
    );
    expect((await call(`/v1/accounts/${id}`, { key: ws.key })).json.needsPlaylistReauth).toBe(true);

    const narrow = await connectAccount(ws, fake, user, { scopes: UPLOAD_ONLY });
    expect(narrow.json.account.needsPlaylistReauth).toBe(true);
    const again = await connectAccount(ws, fake, user, { scopes: FULL });
    expect(again.status, again.text).toBe(200);
    expect(again.json.account).toMatchObject({ id, needsPlaylistReauth: false });
    const listed = await api(`/v1/accounts/${id}/youtube/playlists`, { key: ws.key });
    expect(listed.json.playlists).toHaveLength(2);
  });

  it("answers PROVIDER_ERROR when YouTube fails, without flagging the account", async () => {
    const account = await youtubeAccount(FULL);
    fake.failNext({ kind: "5xx" });
    const res = await api(`/v1/accounts/${account.id}/youtube/playlists`, { key: ws.key });
    expect(res.status).toBe(502);
    expect(res.json.error.code).toBe("PROVIDER_ERROR");
    expect((await rowOf(account.id))?.needs_playlist_reauth).toBe(0);
  });

  it("refuses a non-YouTube account with INVALID_PARAM and a disconnected one likewise", async () => {
    const twitter = await insertAccount(ws.id, { platform: "twitter" });
    const res = await api(`/v1/accounts/${twitter.id}/youtube/playlists`, { key: ws.key });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: "INVALID_PARAM", details: [{ field: "id" }] });
    const gone = await insertAccount(ws.id, { platform: "youtube", status: "disconnected", scopes: FULL });
    const disconnected = await api(`/v1/accounts/${gone.id}/youtube/playlists`, { key: ws.key });
    expect(disconnected.status).toBe(400);
    expect(disconnected.json.error.message).toContain("disconnected");
  });

  it("answers 404 for another workspace's account, 403 without accounts:read, 401 without a key", async () => {
    const other = await createWorkspace();
    const theirs = await insertAccount(other.id, { platform: "youtube", scopes: FULL });
    expect((await api(`/v1/accounts/${theirs.id}/youtube/playlists`, { key: ws.key })).status).toBe(404);
    const account = await youtubeAccount(FULL);
    const writer = await issueKey(ws.id, ["accounts:write"]);
    const forbidden = await api(`/v1/accounts/${account.id}/youtube/playlists`, { key: writer.key });
    expect(forbidden.status).toBe(403);
    expect((await api(`/v1/accounts/${account.id}/youtube/playlists`)).status).toBe(401);
  });
});
