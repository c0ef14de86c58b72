import { beforeEach, describe, expect, it } from "vitest";
import { instagramAnalytics } from "../../../src/platforms/analytics/instagram";
import { GRAPH_VERSION } from "../../../src/platforms/meta";
import type { Grant } from "../../../src/platforms/types";
import { type FakePlatform, type FakeRequest, fakePlatform } from "../../helpers/fake-provider";
import { grantOf, platformTestContext } from "../../helpers/platform-context";
import { graphError } from "../../helpers/platform-fakes";

const IG_USER_ID = "17841405793187218";
const PAGE_ID = "104567890123456";

/** One lifetime insights entry as GET /{media-id}/insights answers it. */
const insight = (mediaId: string, name: string, value: number) => ({
  name,
  period: "lifetime",
  values: [{ value }],
  title: name,
  description: `${name} of the media`,
  id: `${mediaId}/insights/${name}/lifetime`,
});

const MEDIA = [
  {
    id: "17918195224117851",
    timestamp: "2026-11-10T15:00:00+0000",
    media_type: "IMAGE",
    media_product_type: "FEED",
    like_count: 120,
    comments_count: 8,
  },
  {
    id: "17895695668004550",
    timestamp: "2026-11-08T18:30:00+0000",
    media_type: "VIDEO",
    media_product_type: "REELS",
    like_count: 450,
    comments_count: 31,
  },
  {
    id: "17854360229135492",
    timestamp: "2026-11-01T09:00:00+0000",
    media_type: "CAROUSEL_ALBUM",
    media_product_type: "FEED",
    like_count: 40,
    comments_count: 2,
  },
];

/** Registers the media list and insights under `prefix`; `tokenOf` reads the token the way the mode sends it. */
function serve(
  fake: FakePlatform,
  prefix: string,
  tokenOf: (req: FakeRequest) => string | null,
  token: string,
) {
  const calls: string[] = [];
  fake.api(`GET ${prefix}/${IG_USER_ID}/media`, (req) => {
    if (tokenOf(req) !== token)
      return graphError(190, 400, "Invalid OAuth access token - Cannot parse access token");
    calls.push(`media ${req.url.searchParams.get("after") ?? "-"} ${req.url.searchParams.get("fields")}`);
    if (!req.url.searchParams.get("after")) {
      return Response.json({
        data: MEDIA.slice(0, 2),
        paging: {
          cursors: { before: "QVFIUmJfBEFORE", after: "QVFIUmAFTER1" },
          next: `https://graph.instagram.com/${GRAPH_VERSION}/${IG_USER_ID}/media?after=QVFIUmAFTER1`,
        },
      });
    }
    return Response.json({
      data: MEDIA.slice(2),
      paging: { cursors: { before: "QVFIUmAFTER1", after: "QVFIUmEND" } },
    });
  });
  for (const media of MEDIA) {
    fake.api(`GET ${prefix}/${media.id}/insights`, (req) => {
      if (tokenOf(req) !== token)
        return graphError(190, 400, "Error validating access token: Session has expired");
      const metric = req.url.searchParams.get("metric") ?? "";
      calls.push(`insights ${media.id} ${metric}`);
      // The album predates the business conversion: Graph refuses its insights.
      if (media.id === "17854360229135492")
        return graphError(10, 400, "(#10) Media posted before business account conversion");
      if (media.media_product_type === "FEED" && metric.includes("views"))
        return graphError(100, 400, "(#100) Incompatible metric (views) with the media product type");
      const values: Record<string, number> = { reach: 900, saved: 14, shares: 6, views: 2400 };
      return Response.json({
        data: metric.split(",").map((name) => insight(media.id, name, values[name] ?? 0)),
      });
    });
  }
  return calls;
}

describe("Instagram post analytics", () => {
  let fake: FakePlatform;

  describe("Instagram Login (graph.instagram.com, token in the query)", () => {
    let grant: Grant;
    let calls: string[];

    beforeEach(() => {
      fake = fakePlatform("instagram");
      const issued = fake.newGrant({ id: IG_USER_ID, username: "jayposiris", name: "Jay" });
      grant = grantOf(issued.accessToken, null, { extras: { oauthVersion: "instagram_login" } });
      calls = serve(
        fake,
        `/${GRAPH_VERSION}`,
        (req) => req.url.searchParams.get("access_token"),
        issued.accessToken,
      );
    });

    const ctx = () => platformTestContext("instagram");

    it("reads media with likes and comments, and each media's insights", async () => {
      const account = { platformUserId: IG_USER_ID, selectedPageId: null, scopes: [] };
      const first = await instagramAnalytics.fetchPage(ctx(), { grant, account, cursor: null });
      expect(first.nextCursor).toBe("QVFIUmAFTER1");
      expect(first.posts).toEqual([
        {
          platformPostId: "17918195224117851",
          publishedAt: Date.parse("2026-11-10T15:00:00Z"),
          impressions: null,
          reach: 900,
          likes: 120,
          comments: 8,
          shares: null,
          saves: 14,
          videoViews: null,
        },
        {
          platformPostId: "17895695668004550",
          publishedAt: Date.parse("2026-11-08T18:30:00Z"),
          impressions: 2400,
          reach: 900,
          likes: 450,
          comments: 31,
          shares: 6,
          saves: 14,
          videoViews: 2400,
        },
      ]);
      // The feed image refused `views`, so the shorter metric list was asked next.
      expect(calls).toContain("insights 17918195224117851 reach,saved");
      expect(calls[0]).toContain("id,timestamp,media_type,media_product_type,like_count,comments_count");

      const last = await instagramAnalytics.fetchPage(ctx(), { grant, account, cursor: first.nextCursor });
      expect(last.nextCursor).toBeNull();
      // No insights for the album: its likes and comments still count.
      expect(last.posts).toEqual([
        expect.objectContaining({ platformPostId: "17854360229135492", likes: 40, comments: 2, reach: null }),
      ]);
    });

    it("an expired token on the insights call is a refusal, not a missing metric", async () => {
      fake.api(`GET /${GRAPH_VERSION}/${MEDIA[0]?.id}/insights`, () =>
        graphError(190, 400, "Error validating access token: Session has expired on Friday"),
      );
      const account = { platformUserId: IG_USER_ID, selectedPageId: null, scopes: [] };
      const err = await instagramAnalytics.fetchPage(ctx(), { grant, account, cursor: null }).catch((e) => e);
      expect(err).toMatchObject({ kind: "refused", details: { code: "190" } });
    });

    it("a rate limit (code 4) waits", async () => {
      fake.api(`GET /${GRAPH_VERSION}/${IG_USER_ID}/media`, () =>
        graphError(4, 400, "(#4) Application request limit reached"),
      );
      const account = { platformUserId: IG_USER_ID, selectedPageId: null, scopes: [] };
      const err = await instagramAnalytics.fetchPage(ctx(), { grant, account, cursor: null }).catch((e) => e);
      expect(err).toMatchObject({ kind: "transient" });
    });
  });

  // A deployment that overrides Instagram's API base (here the fake) serves Facebook-Login calls there
  // too; in production they go to graph.facebook.com (facebookLoginContext).
  describe("Facebook Login (graph.facebook.com, the selected page's token)", () => {
    let grant: Grant;
    let pageToken: string;

    beforeEach(() => {
      fake = fakePlatform("instagram");
      const user = fake.newGrant({ id: "10158000000000001", username: "jay", name: "Jay" });
      pageToken = fake.newGrant({ id: PAGE_ID, username: "page", name: "Page" }).accessToken;
      grant = grantOf(user.accessToken, null, {
        extras: {
          oauthVersion: "fb_login",
          igUserId: IG_USER_ID,
          pageId: PAGE_ID,
          pageAccessToken: pageToken,
        },
      });
      serve(
        fake,
        `/${GRAPH_VERSION}`,
        (req) => req.request.headers.get("authorization")?.replace(/^Bearer /, "") ?? null,
        pageToken,
      );
    });

    it("reads the selected business account through the Facebook API with the page token", async () => {
      const ctx = platformTestContext("instagram");
      const account = { platformUserId: "10158000000000001", selectedPageId: PAGE_ID, scopes: [] };
      const page = await instagramAnalytics.fetchPage(ctx, { grant, account, cursor: null });
      expect(page.posts.map((p) => [p.platformPostId, p.reach, p.likes])).toEqual([
        ["17918195224117851", 900, 120],
        ["17895695668004550", 900, 450],
      ]);
      expect(page.nextCursor).toBe("QVFIUmAFTER1");
    });

    it("is unavailable until a business account is selected", () => {
      const account = { platformUserId: "10158000000000001", selectedPageId: null, scopes: [] };
      const { igUserId: _dropped, ...extras } = grant.extras;
      expect(instagramAnalytics.unavailable?.(account, { ...grant, extras })).toMatchObject({
        field: "pageId",
      });
      expect(instagramAnalytics.unavailable?.(account, grant)).toBeNull();
    });
  });
});
