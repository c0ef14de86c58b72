import { beforeEach, describe, expect, it } from "vitest";
import { youtubeAnalytics } from "../../../src/platforms/analytics/youtube";
import type { Grant } from "../../../src/platforms/types";
import { type FakePlatform, fakePlatform } from "../../helpers/fake-provider";
import { grantOf, platformTestContext } from "../../helpers/platform-context";

const CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw";
const UPLOADS = "UU_x5XG1OV2P6uZZ5FSM9Ttw";
const account = { platformUserId: CHANNEL, selectedPageId: null, scopes: [] };

let fake: FakePlatform;
let grant: Grant;

/** A youtube#playlistItem with part=contentDetails. */
const item = (videoId: string, publishedAt?: string) => ({
  kind: "youtube#playlistItem",
  etag: `etag-${videoId}`,
  id: `UExpdGVt${videoId}`,
  contentDetails: { videoId, ...(publishedAt ? { videoPublishedAt: publishedAt } : {}) },
});

beforeEach(() => {
  fake = fakePlatform("youtube");
  const issued = fake.newGrant({ id: CHANNEL, username: "@GoogleDevelopers", name: "Google for Developers" });
  grant = grantOf(issued.accessToken);
  fake.api("GET /youtube/v3/channels", ({ url }) =>
    Response.json({
      kind: "youtube#channelListResponse",
      etag: "e",
      pageInfo: { totalResults: 1, resultsPerPage: 5 },
      items: [
        {
          kind: "youtube#channel",
          etag: "c",
          id: CHANNEL,
          contentDetails: {
            relatedPlaylists: { likes: "", uploads: url.searchParams.get("mine") === "true" ? UPLOADS : "" },
          },
        },
      ],
    }),
  );
  fake.api("GET /youtube/v3/playlistItems", ({ url }) => {
    expect(url.searchParams.get("playlistId")).toBe(UPLOADS);
    if (!url.searchParams.get("pageToken"))
      return Response.json({
        kind: "youtube#playlistItemListResponse",
        etag: "p1",
        nextPageToken: "EAAaBlBUOkNESQ",
        pageInfo: { totalResults: 3, resultsPerPage: 50 },
        items: [item("dQw4w9WgXcQ", "2026-11-10T17:00:06Z"), item("privateVid01")],
      });
    return Response.json({
      kind: "youtube#playlistItemListResponse",
      etag: "p2",
      prevPageToken: "EAEaBlBUOkNESQ",
      pageInfo: { totalResults: 3, resultsPerPage: 50 },
      items: [item("M7lc1UVf-VE", "2026-09-01T15:30:00Z")],
    });
  });
  fake.api("GET /youtube/v3/videos", ({ url }) =>
    Response.json({
      kind: "youtube#videoListResponse",
      etag: "v",
      items: (url.searchParams.get("id") ?? "").split(",").map((id) => ({
        kind: "youtube#video",
        etag: `v-${id}`,
        id,
        // Counts are strings; likeCount is absent when the owner hides likes.
        statistics:
          id === "M7lc1UVf-VE"
            ? { viewCount: "1200", favoriteCount: "0", commentCount: "4" }
            : { viewCount: "15000", likeCount: "830", favoriteCount: "0", commentCount: "57" },
      })),
      pageInfo: { totalResults: 1, resultsPerPage: 1 },
    }),
  );
});

const ctx = () => platformTestContext("youtube");

describe("YouTube post analytics", () => {
  it("walks the uploads playlist and reads each page's statistics", async () => {
    const first = await youtubeAnalytics.fetchPage(ctx(), { grant, account, cursor: null });
    expect(first.posts).toEqual([
      {
        platformPostId: "dQw4w9WgXcQ",
        publishedAt: Date.parse("2026-11-10T17:00:06Z"),
        impressions: null,
        reach: null,
        likes: 830,
        comments: 57,
        shares: null,
        saves: null,
        videoViews: 15000,
      },
    ]);
    expect(first.total).toBe(3);
    expect(JSON.parse(first.nextCursor ?? "")).toEqual({ playlist: UPLOADS, pageToken: "EAAaBlBUOkNESQ" });

    const last = await youtubeAnalytics.fetchPage(ctx(), { grant, account, cursor: first.nextCursor });
    expect(last.nextCursor).toBeNull();
    expect(last.posts).toEqual([
      expect.objectContaining({ platformPostId: "M7lc1UVf-VE", likes: null, videoViews: 1200 }),
    ]);
    // The uploads playlist was looked up once; the cursor carries it.
    expect(fake.calls.filter((c) => c.path.endsWith("/channels"))).toHaveLength(1);
  });

  it("an exhausted quota (403 quotaExceeded) waits rather than failing the account", async () => {
    fake.api("GET /youtube/v3/playlistItems", () =>
      Response.json(
        {
          error: {
            code: 403,
            message: "The request cannot be completed because you have exceeded your quota.",
            errors: [{ message: "quota", domain: "youtube.quota", reason: "quotaExceeded" }],
          },
        },
        { status: 403 },
      ),
    );
    const cursor = JSON.stringify({ playlist: UPLOADS, pageToken: "x" });
    const err = await youtubeAnalytics.fetchPage(ctx(), { grant, account, cursor }).catch((e) => e);
    expect(err).toMatchObject({ kind: "transient", details: { code: "quotaExceeded" } });
  });
});
