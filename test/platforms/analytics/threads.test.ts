import { beforeEach, describe, expect, it } from "vitest";
import { threadsAnalytics } from "../../../src/platforms/analytics/threads";
import type { Grant } from "../../../src/platforms/types";
import { type FakePlatform, fakePlatform } from "../../helpers/fake-provider";
import { grantOf, platformTestContext } from "../../helpers/platform-context";

const account = { platformUserId: "7012345678901234", selectedPageId: null, scopes: [] };

let fake: FakePlatform;
let grant: Grant;

beforeEach(() => {
  fake = fakePlatform("threads");
  const issued = fake.newGrant({ id: account.platformUserId, username: "threadsapitestuser", name: "T" });
  grant = grantOf(issued.accessToken);
  fake.api("GET /v1.0/me/threads", ({ url, grant: g }) => {
    if (!g)
      return Response.json({ error: { message: "Invalid OAuth access token", code: 190 } }, { status: 400 });
    const after = url.searchParams.get("after");
    // Threads pages carry only cursors, no `next` link; past the end the data is empty.
    if (!after)
      return Response.json({
        data: [
          {
            id: "18050206876707110",
            timestamp: "2026-11-18T16:42:03+0000",
            media_type: "TEXT_POST",
            is_quote_post: false,
          },
          {
            id: "18050206876707111",
            timestamp: "2026-11-17T10:00:00+0000",
            media_type: "REPOST_FACADE",
            is_quote_post: false,
          },
        ],
        paging: { cursors: { before: "BEFORE_CURSOR", after: "AFTER_CURSOR" } },
      });
    if (after === "AFTER_CURSOR")
      return Response.json({
        data: [
          {
            id: "18050206876707112",
            timestamp: "2026-11-01T05:42:03+0000",
            media_type: "IMAGE",
            is_quote_post: true,
          },
        ],
        paging: { cursors: { before: "AFTER_CURSOR", after: "END_CURSOR" } },
      });
    return Response.json({ data: [], paging: { cursors: {} } });
  });
  for (const id of ["18050206876707110", "18050206876707112"]) {
    fake.api(`GET /v1.0/${id}/insights`, ({ url }) => {
      const values: Record<string, number> = {
        views: 800,
        likes: 40,
        replies: 6,
        reposts: 3,
        quotes: 1,
        shares: 2,
      };
      return Response.json({
        data: (url.searchParams.get("metric") ?? "").split(",").map((name) => ({
          name,
          period: "lifetime",
          values: [{ value: values[name] }],
          title: name,
          description: `The number of ${name} on your post.`,
          id: `${id}/insights/${name}/lifetime`,
        })),
      });
    });
  }
});

const ctx = () => platformTestContext("threads");

describe("Threads post analytics", () => {
  it("reads the user's threads and their insights, skipping reposts of others", async () => {
    const first = await threadsAnalytics.fetchPage(ctx(), { grant, account, cursor: null });
    expect(first.posts).toEqual([
      {
        platformPostId: "18050206876707110",
        publishedAt: Date.parse("2026-11-18T16:42:03Z"),
        impressions: 800,
        reach: null,
        likes: 40,
        comments: 6,
        shares: 6,
        saves: null,
        videoViews: null,
      },
    ]);
    expect(first.nextCursor).toBe("AFTER_CURSOR");
    const second = await threadsAnalytics.fetchPage(ctx(), { grant, account, cursor: "AFTER_CURSOR" });
    expect(second.posts.map((p) => p.platformPostId)).toEqual(["18050206876707112"]);
    expect(second.nextCursor).toBe("END_CURSOR");
    const end = await threadsAnalytics.fetchPage(ctx(), { grant, account, cursor: "END_CURSOR" });
    expect(end).toEqual({ posts: [], nextCursor: null });
    expect(fake.calls.some((c) => c.path.includes("18050206876707111"))).toBe(false);
  });

  it("needs threads_manage_insights", () => {
    expect(threadsAnalytics.requiredScopes).toEqual([["threads_manage_insights"]]);
  });
});
