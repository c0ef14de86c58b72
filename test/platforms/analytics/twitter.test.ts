import { beforeEach, describe, expect, it } from "vitest";
import { twitterAnalytics } from "../../../src/platforms/analytics/twitter";
import { ProviderError } from "../../../src/platforms/http";
import type { Grant } from "../../../src/platforms/types";
import { type FakeGrant, type FakePlatform, fakePlatform } from "../../helpers/fake-provider";
import { grantOf, NOW, platformTestContext } from "../../helpers/platform-context";

const USER_ID = "2244994945";
const account = { platformUserId: USER_ID, selectedPageId: null, scopes: [] };

let fake: FakePlatform;
let issued: FakeGrant;
let grant: Grant;

/** A post as GET /2/users/:id/tweets answers it with tweet.fields=created_at,public_metrics. */
function tweet(id: string, createdAt: string, metrics: Record<string, number>) {
  return {
    id,
    text: `Post ${id}`,
    edit_history_tweet_ids: [id],
    created_at: createdAt,
    public_metrics: {
      retweet_count: 0,
      reply_count: 0,
      like_count: 0,
      quote_count: 0,
      bookmark_count: 0,
      impression_count: 0,
      ...metrics,
    },
  };
}

beforeEach(() => {
  fake = fakePlatform("twitter");
  issued = fake.newGrant({ id: USER_ID, username: "XDevelopers", name: "Developers" });
  grant = grantOf(issued.accessToken);
});

const ctx = () => platformTestContext("twitter", NOW, { requireClientCredentials: false });

describe("X post analytics", () => {
  it("reads the user's own timeline with public metrics, page by page", async () => {
    const seen: URLSearchParams[] = [];
    fake.api(`GET /2/users/${USER_ID}/tweets`, ({ url, grant: g }) => {
      if (!g) return Response.json({ title: "Unauthorized", status: 401 }, { status: 401 });
      seen.push(url.searchParams);
      if (!url.searchParams.get("pagination_token")) {
        return Response.json({
          data: [
            tweet("1460323737035677698", "2026-11-15T19:08:05.000Z", {
              retweet_count: 7,
              reply_count: 3,
              like_count: 22,
              quote_count: 1,
              bookmark_count: 2,
              impression_count: 1534,
            }),
          ],
          meta: {
            result_count: 1,
            newest_id: "1460323737035677698",
            oldest_id: "1460323737035677698",
            next_token: "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i",
          },
        });
      }
      return Response.json({
        data: [
          tweet("1459000000000000000", "2026-10-01T08:00:00.000Z", { like_count: 5, impression_count: 90 }),
        ],
        meta: { result_count: 1, newest_id: "1459000000000000000", oldest_id: "1459000000000000000" },
      });
    });

    const first = await twitterAnalytics.fetchPage(ctx(), { grant, account, cursor: null });
    expect(first.posts).toEqual([
      {
        platformPostId: "1460323737035677698",
        publishedAt: Date.parse("2026-11-15T19:08:05.000Z"),
        impressions: 1534,
        reach: null,
        likes: 22,
        comments: 3,
        shares: 8,
        saves: 2,
        videoViews: null,
      },
    ]);
    expect(first.nextCursor).toBe("7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i");
    expect(seen[0]?.get("tweet.fields")).toBe("created_at,public_metrics");
    expect(seen[0]?.get("exclude")).toBe("retweets,replies");
    expect(seen[0]?.get("max_results")).toBe("100");

    const second = await twitterAnalytics.fetchPage(ctx(), { grant, account, cursor: first.nextCursor });
    expect(seen[1]?.get("pagination_token")).toBe(first.nextCursor);
    expect(second.posts.map((p) => p.platformPostId)).toEqual(["1459000000000000000"]);
    expect(second.nextCursor).toBeNull();
  });

  it("answers an empty page for an account with no posts", async () => {
    fake.api(`GET /2/users/${USER_ID}/tweets`, () => Response.json({ meta: { result_count: 0 } }));
    const page = await twitterAnalytics.fetchPage(ctx(), { grant, account, cursor: null });
    expect(page).toEqual({ posts: [], nextCursor: null });
  });

  it("waits out a rate limit until x-rate-limit-reset", async () => {
    const reset = Math.floor(NOW / 1000) + 600;
    fake.api(`GET /2/users/${USER_ID}/tweets`, () =>
      Response.json(
        { title: "Too Many Requests", detail: "Too Many Requests", type: "about:blank", status: 429 },
        { status: 429, headers: { "x-rate-limit-reset": String(reset), "x-rate-limit-remaining": "0" } },
      ),
    );
    const err = await twitterAnalytics.fetchPage(ctx(), { grant, account, cursor: null }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: "transient", details: { status: 429, retryAfterMs: 600_000 } });
  });

  it("a revoked token is a refusal", async () => {
    fake.api(`GET /2/users/${USER_ID}/tweets`, () =>
      Response.json(
        { title: "Unauthorized", type: "about:blank", status: 401, detail: "Unauthorized" },
        { status: 401 },
      ),
    );
    const err = await twitterAnalytics.fetchPage(ctx(), { grant, account, cursor: null }).catch((e) => e);
    expect(err).toMatchObject({ kind: "refused" });
    expect(String(err.message)).not.toContain(issued.accessToken);
  });
});
