import { beforeEach, describe, expect, it } from "vitest";
import { tiktokAnalytics } from "../../../src/platforms/analytics/tiktok";
import { TIKTOK_BUSINESS, tiktok } from "../../../src/platforms/tiktok";
import type { Grant } from "../../../src/platforms/types";
import type { WireBusinessVideo } from "../../../src/platforms/wire/tiktok";
import { type FakePlatform, fakePlatform } from "../../helpers/fake-provider";
import { grantOf, platformTestContext } from "../../helpers/platform-context";
import { tiktokBusinessFake, tiktokInvalidToken } from "../../helpers/platform-fakes";

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

/** `n` Business account posts, newest first, a day apart. */
const businessVideos = (n: number): WireBusinessVideo[] =>
  Array.from({ length: n }, (_, i) => ({
    itemId: String(7_400_000_000_000_000_000n - BigInt(i)),
    createTime: 1763400000 - i * 86400,
    caption: `post ${i}`,
    shareUrl: `https://www.tiktok.com/@shop/video/${i}`,
    thumbnailUrl: `https://p16.tiktokcdn.com/${i}.jpeg`,
    videoViews: 1000 + i,
    likes: 100 + i,
    comments: 10 + i,
    shares: i,
    reach: 800 + i,
  }));

describe("TikTok Business post analytics", () => {
  const openId = "-000BizOpenId";
  const businessCtx = () =>
    platformTestContext("tiktok", undefined, { variant: tiktok.variants?.[TIKTOK_BUSINESS] });
  let business: ReturnType<typeof tiktokBusinessFake>;
  let bizGrant: Grant;

  beforeEach(() => {
    business = tiktokBusinessFake();
    const issued = business.newGrant({ id: openId, username: "shop", name: "Shop" }, ["video.list"]);
    bizGrant = grantOf(issued.accessToken, issued.refreshToken, {
      extras: { oauthVersion: TIKTOK_BUSINESS, openId },
    });
    business.videos = businessVideos(25);
  });

  it("reads business/video/list with Access-Token and business_id, paging by cursor", async () => {
    const urls: URL[] = [];
    const ctx = businessCtx();
    const send = ctx.fetch;
    ctx.fetch = ((input, init) => {
      urls.push(new URL(input instanceof Request ? input.url : String(input)));
      return send(input, init);
    }) as typeof fetch;
    const first = await tiktokAnalytics.fetchPage(ctx, { grant: bizGrant, account, cursor: null });
    const call0 = business.calls[0];
    expect(call0?.method).toBe("GET");
    expect(call0?.path).toBe("/api/open_api/v1.3/business/video/list/");
    expect(call0?.headers.get("access-token")).toBe(bizGrant.accessToken);
    expect(call0?.headers.get("authorization")).toBeNull();
    expect(Object.fromEntries(urls[0]?.searchParams ?? [])).toEqual({
      business_id: openId,
      fields: JSON.stringify([
        "item_id",
        "create_time",
        "video_views",
        "reach",
        "likes",
        "comments",
        "shares",
      ]),
      max_count: "20",
    });
    expect(first.posts).toHaveLength(20);
    expect(first.posts[0]).toEqual({
      platformPostId: "7400000000000000000",
      publishedAt: 1763400000 * 1000,
      impressions: null,
      reach: 800,
      likes: 100,
      comments: 10,
      shares: 0,
      saves: null,
      videoViews: 1000,
    });
    expect(first.nextCursor).toBe("20");
    // The Login Kit app is never asked.
    expect(fake.calls).toHaveLength(0);

    const last = await tiktokAnalytics.fetchPage(ctx, { grant: bizGrant, account, cursor: first.nextCursor });
    expect(urls[1]?.searchParams.get("cursor")).toBe("20");
    expect(last.posts.map((p) => p.platformPostId)).toEqual(
      businessVideos(25)
        .slice(20)
        .map((v) => v.itemId),
    );
    expect(last.nextCursor).toBeNull();
    expect(business.calls).toHaveLength(2);
  });

  it("refuses, retries or rejects by the envelope's code, even with HTTP 200", async () => {
    const envelope = (code: number, message: string, status = 200) =>
      business.api("GET /open_api/v1.3/business/video/list/", () =>
        Response.json({ code, message, request_id: "r", data: {} }, { status }),
      );
    const page = () =>
      tiktokAnalytics.fetchPage(businessCtx(), { grant: bizGrant, account, cursor: null }).catch((e) => e);

    envelope(40105, "Access token is incorrect or has been revoked.");
    expect(await page()).toMatchObject({ kind: "refused", details: { status: 200, code: "40105" } });
    envelope(40100, "Too many requests.");
    expect(await page()).toMatchObject({ kind: "transient", details: { code: "40100" } });
    envelope(50000, "System error.");
    expect(await page()).toMatchObject({ kind: "transient", details: { code: "50000" } });
    envelope(40002, "fields has an unknown field");
    expect(await page()).toMatchObject({ kind: "invalid", details: { code: "40002" } });
  });

  it("a revoked token is refused by the fake's own answer", async () => {
    const live = business.grants[0];
    if (live) live.revoked = true;
    const err = await tiktokAnalytics
      .fetchPage(businessCtx(), { grant: bizGrant, account, cursor: null })
      .catch((e) => e);
    expect(err).toMatchObject({ kind: "refused" });
  });
});
