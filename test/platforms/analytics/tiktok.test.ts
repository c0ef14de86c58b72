import { beforeEach, describe, expect, it } from "vitest";
import { tiktokAnalytics } from "../../../src/platforms/analytics/tiktok";
import type { Grant } from "../../../src/platforms/types";
import { type FakePlatform, fakePlatform } from "../../helpers/fake-provider";
import { grantOf, platformTestContext } from "../../helpers/platform-context";
import { tiktokInvalidToken } from "../../helpers/platform-fakes";

const account = { platformUserId: "-000OnWxFzAvkTQs1DyJJ9NxqLB5IDPbNo7t", selectedPageId: null, scopes: [] };
const ok = { code: "ok", message: "", log_id: "20261120120000000000000000000000" };

let fake: FakePlatform;
let grant: Grant;
let bodies: Record<string, unknown>[];

beforeEach(() => {
  fake = fakePlatform("tiktok");
  const issued = fake.newGrant({ id: account.platformUserId, username: "tiktok", name: "T" });
  grant = grantOf(issued.accessToken);
  bodies = [];
  fake.api("POST /v2/video/list/", async ({ request, url, grant: g }) => {
    if (!g) return tiktokInvalidToken("x");
    expect(url.searchParams.get("fields")).toBe(
      "id,create_time,view_count,like_count,comment_count,share_count",
    );
    const body = (await request.json()) as { max_count?: number; cursor?: number };
    bodies.push(body);
    if (body.cursor === undefined)
      return Response.json({
        data: {
          videos: [
            {
              id: "7298765432109876543",
              create_time: 1763400000,
              view_count: 9100,
              like_count: 700,
              comment_count: 25,
              share_count: 12,
            },
            {
              id: "7298765432109876000",
              create_time: 1763000000,
              view_count: 300,
              like_count: 20,
              comment_count: 1,
              share_count: 0,
            },
          ],
          cursor: 1763000000000,
          has_more: true,
        },
        error: ok,
      });
    return Response.json({ data: { videos: [], cursor: body.cursor, has_more: false }, error: ok });
  });
});

const ctx = () => platformTestContext("tiktok");

describe("TikTok post analytics", () => {
  it("lists the user's videos with their counts, following TikTok's millisecond cursor", async () => {
    const first = await tiktokAnalytics.fetchPage(ctx(), { grant, account, cursor: null });
    expect(bodies[0]).toEqual({ max_count: 20 });
    expect(first.posts[0]).toEqual({
      platformPostId: "7298765432109876543",
      publishedAt: 1763400000 * 1000,
      impressions: null,
      reach: null,
      likes: 700,
      comments: 25,
      shares: 12,
      saves: null,
      videoViews: 9100,
    });
    expect(first.nextCursor).toBe("1763000000000");
    const last = await tiktokAnalytics.fetchPage(ctx(), { grant, account, cursor: first.nextCursor });
    expect(bodies[1]).toEqual({ max_count: 20, cursor: 1763000000000 });
    expect(last).toEqual({ posts: [], nextCursor: null });
  });

  it("reads errors TikTok sends with HTTP 200, by their code", async () => {
    fake.api("POST /v2/video/list/", () =>
      Response.json({
        data: {},
        error: {
          code: "scope_not_authorized",
          message: "The user did not authorize the scope required for completing this request.",
          log_id: "y",
        },
      }),
    );
    const refused = await tiktokAnalytics.fetchPage(ctx(), { grant, account, cursor: null }).catch((e) => e);
    expect(refused).toMatchObject({ kind: "refused", details: { code: "scope_not_authorized" } });

    fake.api("POST /v2/video/list/", () =>
      Response.json(
        {
          data: {},
          error: { code: "rate_limit_exceeded", message: "API rate limit was exceeded.", log_id: "z" },
        },
        { status: 429 },
      ),
    );
    const limited = await tiktokAnalytics.fetchPage(ctx(), { grant, account, cursor: null }).catch((e) => e);
    expect(limited).toMatchObject({ kind: "transient" });
  });

  it("needs video.list", () => {
    expect(tiktokAnalytics.requiredScopes).toEqual([["video.list"]]);
  });
});
