import { beforeEach, describe, expect, it } from "vitest";
import { blueskyAnalytics } from "../../../src/platforms/analytics/bluesky";
import type { Grant } from "../../../src/platforms/types";
import { type FakePlatform, fakePlatform } from "../../helpers/fake-provider";
import { grantOf, NOW, platformTestContext } from "../../helpers/platform-context";

const DID = "did:plc:z72i7hdynmk6r22z27h6tvur";
const account = { platformUserId: DID, selectedPageId: null, scopes: [] };

let fake: FakePlatform;
let grant: Grant;

/** A FeedViewPost of app.bsky.feed.getAuthorFeed. */
function item(
  rkey: string,
  author: string,
  createdAt: string,
  counts: Record<string, number>,
  reason?: string,
) {
  return {
    post: {
      uri: `at://${author}/app.bsky.feed.post/${rkey}`,
      cid: `bafyrei${rkey}`,
      author: { did: author, handle: "bsky.app", displayName: "Bluesky" },
      record: { $type: "app.bsky.feed.post", text: "hello", createdAt, langs: ["en"] },
      indexedAt: createdAt,
      replyCount: 0,
      repostCount: 0,
      likeCount: 0,
      quoteCount: 0,
      ...counts,
    },
    ...(reason ? { reason: { $type: reason, by: { did: DID }, indexedAt: createdAt } } : {}),
  };
}

beforeEach(() => {
  fake = fakePlatform("bluesky");
  const issued = fake.newGrant({ id: DID, username: "bsky.app", name: "Bluesky" });
  grant = grantOf(issued.accessToken, null, { extras: { did: DID } });
  fake.api("GET /xrpc/app.bsky.feed.getAuthorFeed", ({ url }) => {
    expect(url.searchParams.get("actor")).toBe(DID);
    expect(url.searchParams.get("filter")).toBe("posts_no_replies");
    if (!url.searchParams.get("cursor"))
      return Response.json({
        cursor: "2026-11-10T09:00:00.000Z",
        feed: [
          item("3lbfvh4jwyk2a", DID, "2026-11-18T21:30:00.000Z", {
            likeCount: 310,
            replyCount: 12,
            repostCount: 40,
            quoteCount: 5,
          }),
          item(
            "3lbfaaaaaaaaa",
            "did:plc:someoneelse",
            "2026-11-15T10:00:00.000Z",
            { likeCount: 9000 },
            "app.bsky.feed.defs#reasonRepost",
          ),
        ],
      });
    return Response.json({ feed: [] });
  });
});

describe("Bluesky post analytics", () => {
  it("reads the account's own posts with their public counts, leaving reposts out", async () => {
    const ctx = platformTestContext("bluesky");
    const first = await blueskyAnalytics.fetchPage(ctx, { grant, account, cursor: null });
    expect(first.posts).toEqual([
      {
        platformPostId: `at://${DID}/app.bsky.feed.post/3lbfvh4jwyk2a`,
        publishedAt: Date.parse("2026-11-18T21:30:00.000Z"),
        impressions: null,
        reach: null,
        likes: 310,
        comments: 12,
        shares: 45,
        saves: null,
        videoViews: null,
      },
    ]);
    expect(first.nextCursor).toBe("2026-11-10T09:00:00.000Z");
    const last = await blueskyAnalytics.fetchPage(ctx, { grant, account, cursor: first.nextCursor });
    expect(last).toEqual({ posts: [], nextCursor: null });
  });

  it("a rate limit waits until RateLimit-Reset", async () => {
    fake.api("GET /xrpc/app.bsky.feed.getAuthorFeed", () =>
      Response.json(
        { error: "RateLimitExceeded", message: "Rate Limit Exceeded" },
        { status: 429, headers: { "ratelimit-reset": String(NOW / 1000 + 120), "ratelimit-remaining": "0" } },
      ),
    );
    const ctx = platformTestContext("bluesky");
    const err = await blueskyAnalytics.fetchPage(ctx, { grant, account, cursor: null }).catch((e) => e);
    expect(err).toMatchObject({ kind: "transient", details: { retryAfterMs: 120_000 } });
  });
});
