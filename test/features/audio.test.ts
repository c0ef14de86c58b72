import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GRAPH_VERSION } from "../../src/platforms/meta";
import { callWith, createWorkspace, insertAccount, issueKey, type TestWorkspace } from "../helpers/api";
import { type FakePlatform, type FakeRequest, fakePlatform } from "../helpers/fake-provider";
import { graphError } from "../helpers/platform-fakes";

const enabled = { ...env, INSTAGRAM_AUDIO_ENABLED: "true" } as Env;
let responses: string[] = [];

async function search(query: string, key: string | undefined, bindings: Env = enabled) {
  const res = await callWith(bindings, `/v1/instagram/audio/search${query}`, { key });
  responses.push(res.text);
  return res;
}

const USER_TOKEN = "fb-user-token-EAAB-audio";
const PAGE_TOKEN = "page-token-EAAB-audio";
const IG_USER_ID = "17841400000000001";

let fake: FakePlatform;
let ws: TestWorkspace;
let seen: URL[];

/** A music asset as Meta's ig_audio answers it (field names as integrators document them). */
const music = (id: string, title: string, artist: string) => ({
  audio_id: id,
  audio_type: "music",
  title,
  display_artist: artist,
  duration_in_ms: 30000,
  cover_artwork_thumbnail_url: `https://scontent.xx.fbcdn.net/cover-${id}.jpg`,
  download_url: `https://audio.xx.fbcdn.net/${id}.m4a`,
  is_ads_eligible: false,
});

const TRENDING = [
  music("1234567890", "Track Title", "Artist Name"),
  music("1234567891", "Summer Nights", "The Waves"),
  { audio_id: "1234567892", audio_type: "music", title: "Untitled" },
];

beforeEach(async () => {
  responses = [];
  seen = [];
  fake = fakePlatform("instagram");
  fake.api(`GET /${GRAPH_VERSION}/ig_audio`, (req: FakeRequest) => {
    seen.push(req.url);
    if (req.request.headers.get("authorization") !== `Bearer ${USER_TOKEN}`)
      return graphError(190, 400, "Invalid OAuth access token data.");
    const q = req.url.searchParams.get("search_query");
    const data = q ? TRENDING.filter((t) => t.title.toLowerCase().includes(q.toLowerCase())) : TRENDING;
    return Response.json({ data });
  });
  ws = await createWorkspace();
});

afterEach(() => {
  for (const text of responses) {
    expect(text).not.toContain(USER_TOKEN);
    expect(text).not.toContain(PAGE_TOKEN);
  }
});

async function fbLoginAccount(extras: Record<string, unknown>, workspaceId = ws.id) {
  return insertAccount(workspaceId, {
    platform: "instagram",
    credentials: { accessToken: USER_TOKEN, extras },
  });
}

const SELECTED = {
  oauthVersion: "fb_login",
  igUserId: IG_USER_ID,
  username: "voxburst",
  pageId: "112233445566778",
  pageName: "Vox Burst",
  pageAccessToken: PAGE_TOKEN,
};

describe("GET /v1/instagram/audio/search", () => {
  it("answers 503 FEATURE_DISABLED unless INSTAGRAM_AUDIO_ENABLED is true", async () => {
    const account = await fbLoginAccount(SELECTED);
    for (const flag of [undefined, "false", "", "1", "yes"]) {
      const bindings = { ...env, INSTAGRAM_AUDIO_ENABLED: flag } as Env;
      const res = await search(`?accountId=${account.id}`, ws.key, bindings);
      expect(res.status).toBe(503);
      expect(res.json.error.code).toBe("FEATURE_DISABLED");
    }
    // The flag is checked before the query: a disabled deployment says so whatever is asked.
    const invalid = await search("?limit=0", ws.key, env);
    expect(invalid.status).toBe(503);
    expect(
      (await search(`?accountId=${account.id}`, ws.key, { ...env, INSTAGRAM_AUDIO_ENABLED: " TRUE " } as Env))
        .status,
    ).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it("answers trending tracks when q is absent", async () => {
    const account = await fbLoginAccount(SELECTED);
    const res = await search(`?accountId=${account.id}`, ws.key);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({
      tracks: [
        {
          id: "1234567890",
          title: "Track Title",
          artistName: "Artist Name",
          audioUrl: "https://audio.xx.fbcdn.net/1234567890.m4a",
          coverImageUri: "https://scontent.xx.fbcdn.net/cover-1234567890.jpg",
          durationMs: 30000,
        },
        {
          id: "1234567891",
          title: "Summer Nights",
          artistName: "The Waves",
          audioUrl: "https://audio.xx.fbcdn.net/1234567891.m4a",
          coverImageUri: "https://scontent.xx.fbcdn.net/cover-1234567891.jpg",
          durationMs: 30000,
        },
        { id: "1234567892", title: "Untitled" },
      ],
    });
    const [url] = seen;
    expect(url?.searchParams.get("audio_type")).toBe("music");
    expect(url?.searchParams.get("user_id")).toBe(IG_USER_ID);
    expect(url?.searchParams.has("search_query")).toBe(false);
    expect(url?.searchParams.get("limit")).toBe("20");
  });

  it("searches with q and cuts the list at limit", async () => {
    const account = await fbLoginAccount(SELECTED);
    const res = await search(`?accountId=${account.id}&q=summer&limit=10`, ws.key);
    expect(res.json.tracks.map((t: { id: string }) => t.id)).toEqual(["1234567891"]);
    expect(seen[0]?.searchParams.get("search_query")).toBe("summer");
    expect(seen[0]?.searchParams.get("limit")).toBe("10");
    const one = await search(`?accountId=${account.id}&limit=1`, ws.key);
    expect(one.json.tracks).toHaveLength(1);
  });

  it("validates limit, q and accountId, naming the field", async () => {
    const account = await fbLoginAccount(SELECTED);
    for (const [query, field] of [
      [`?accountId=${account.id}&limit=0`, "limit"],
      [`?accountId=${account.id}&limit=51`, "limit"],
      [`?accountId=${account.id}&limit=ten`, "limit"],
      [`?accountId=${account.id}&q=`, "q"],
      ["", "accountId"],
    ] as const) {
      const res = await search(query, ws.key);
      expect(res.status, query).toBe(400);
      expect(res.json.error.code).toBe("INVALID_PARAM");
      expect(res.json.error.details[0].field).toBe(field);
    }
    expect(seen).toHaveLength(0);
  });

  it("answers 404 for another workspace's account and an unknown one", async () => {
    const other = await createWorkspace();
    const theirs = await fbLoginAccount(SELECTED, other.id);
    for (const id of [theirs.id, "acc_missing"]) {
      const res = await search(`?accountId=${id}`, ws.key);
      expect(res.status).toBe(404);
      expect(res.json.error.code).toBe("NOT_FOUND");
    }
  });

  it("answers 400 for a Direct Login account, with the reference's message", async () => {
    const legacy = await insertAccount(ws.id, {
      platform: "instagram",
      credentials: { accessToken: "ig-token", extras: { oauthVersion: "instagram_login" } },
    });
    const res = await search(`?accountId=${legacy.id}`, ws.key);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({
      code: "INVALID_PARAM",
      message: expect.stringContaining(
        "The account does not have a pageAccessToken — it was connected via Direct Login rather than Facebook Login",
      ),
    });
    expect(seen).toHaveLength(0);
  });

  it("answers 400 for a Facebook-Login account with no business account selected, and for other platforms", async () => {
    const unselected = await fbLoginAccount({ oauthVersion: "fb_login" });
    const res = await search(`?accountId=${unselected.id}`, ws.key);
    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain("select-page");
    const twitter = await insertAccount(ws.id, { platform: "twitter" });
    const other = await search(`?accountId=${twitter.id}`, ws.key);
    expect(other.status).toBe(400);
    expect(other.json.error.details).toEqual([{ field: "accountId", message: "A twitter account" }]);
  });

  it("answers 502 GRAPH_API_ERROR carrying Meta's message", async () => {
    const account = await fbLoginAccount(SELECTED);
    fake.api(`GET /${GRAPH_VERSION}/ig_audio`, () =>
      graphError(10, 400, "(#10) Application does not have permission for this action"),
    );
    const res = await search(`?accountId=${account.id}`, ws.key);
    expect(res.status).toBe(502);
    expect(res.json.error.code).toBe("GRAPH_API_ERROR");
    expect(res.json.error.message).toContain("(#10) Application does not have permission for this action");
  });

  it("needs read:posts, and a key", async () => {
    const account = await fbLoginAccount(SELECTED);
    const reader = await issueKey(ws.id, ["accounts:read"]);
    const res = await search(`?accountId=${account.id}`, reader.key);
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe("INSUFFICIENT_SCOPE");
    expect((await search(`?accountId=${account.id}`, undefined)).status).toBe(401);
  });
});
