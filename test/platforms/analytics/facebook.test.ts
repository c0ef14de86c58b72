import { beforeEach, describe, expect, it } from "vitest";
import { facebookAnalytics } from "../../../src/platforms/analytics/facebook";
import { GRAPH_VERSION } from "../../../src/platforms/meta";
import type { Grant } from "../../../src/platforms/types";
import { type FakePlatform, type FakeRequest, fakePlatform } from "../../helpers/fake-provider";
import { grantOf, platformTestContext } from "../../helpers/platform-context";
import { graphError } from "../../helpers/platform-fakes";

const USER_ID = "10158000000000001";
const PAGE_ID = "104567890123456";

const bearer = (req: FakeRequest) => req.request.headers.get("authorization")?.replace(/^Bearer /, "");

/** GET /{page-id}/posts entries with reactions/comments summaries (the edges' data left empty by limit(0)). */
function post(id: string, created: string, reactions: number, comments: number, shares?: number) {
  return {
    id: `${PAGE_ID}_${id}`,
    created_time: created,
    ...(shares === undefined ? {} : { shares: { count: shares } }),
    reactions: { data: [], summary: { total_count: reactions, viewer_reaction: "NONE" } },
    comments: { data: [], summary: { order: "chronological", total_count: comments, can_comment: true } },
  };
}

let fake: FakePlatform;
let userToken: string;
let pageToken: string;
let insightsAsked: string[];

beforeEach(() => {
  fake = fakePlatform("facebook");
  userToken = fake.newGrant({ id: USER_ID, username: "jay", name: "Jay" }).accessToken;
  pageToken = fake.newGrant({ id: PAGE_ID, username: "page", name: "Page" }).accessToken;
  insightsAsked = [];
  fake.api(`GET /${PAGE_ID}`, (req) =>
    bearer(req) === userToken && req.url.searchParams.get("fields") === "access_token"
      ? Response.json({ access_token: pageToken, id: PAGE_ID })
      : graphError(190, 400, "Invalid OAuth access token"),
  );
  fake.api(`GET /${PAGE_ID}/posts`, (req) => {
    if (bearer(req) !== pageToken) return graphError(190, 400, "Invalid OAuth access token");
    if (!req.url.searchParams.get("after")) {
      return Response.json({
        data: [post("1", "2026-11-12T14:05:00+0000", 52, 7, 3), post("2", "2026-11-09T09:00:00+0000", 10, 0)],
        paging: {
          cursors: { before: "QVFIUkFOREFTRQ", after: "QVFIUkFGVEVS" },
          next: `https://graph.facebook.com/${GRAPH_VERSION}/${PAGE_ID}/posts?after=QVFIUkFGVEVS`,
        },
      });
    }
    return Response.json({
      data: [post("3", "2026-10-30T20:00:00+0000", 4, 1)],
      paging: { cursors: { before: "b", after: "c" } },
    });
  });
  for (const id of ["1", "2", "3"]) {
    fake.api(`GET /${PAGE_ID}_${id}/insights`, (req) => {
      if (bearer(req) !== pageToken) return graphError(190, 400, "Invalid OAuth access token");
      const metric = req.url.searchParams.get("metric") ?? "";
      insightsAsked.push(metric);
      if (id === "3" && metric.includes("post_media_view"))
        return graphError(100, 400, "(#100) The value must be a valid insights metric");
      const values: Record<string, number> = { post_media_view: 3100, post_total_media_view_unique: 1900 };
      return Response.json({
        data: metric.split(",").map((name) => ({
          name,
          period: "lifetime",
          values: [{ value: values[name] }],
          title: name,
          description: name,
          id: `${PAGE_ID}_${id}/insights/${name}/lifetime`,
        })),
        paging: { previous: "p", next: "n" },
      });
    });
  }
});

const ctx = () => platformTestContext("facebook");

describe("Facebook page post analytics", () => {
  it("reads the selected page's posts with the stored page token", async () => {
    const grant: Grant = grantOf(userToken, null, { extras: { pageAccessToken: pageToken } });
    const account = { platformUserId: USER_ID, selectedPageId: PAGE_ID, scopes: [] };
    const first = await facebookAnalytics.fetchPage(ctx(), { grant, account, cursor: null });
    expect(first.posts[0]).toEqual({
      platformPostId: `${PAGE_ID}_1`,
      publishedAt: Date.parse("2026-11-12T14:05:00Z"),
      impressions: 3100,
      reach: 1900,
      likes: 52,
      comments: 7,
      shares: 3,
      saves: null,
      videoViews: null,
    });
    // Graph leaves `shares` out of a post nobody shared.
    expect(first.posts[1]).toMatchObject({ likes: 10, comments: 0, shares: 0 });
    expect(first.nextCursor).toBe("QVFIUkFGVEVS");
    expect(insightsAsked[0]).toBe("post_media_view,post_total_media_view_unique");

    const last = await facebookAnalytics.fetchPage(ctx(), { grant, account, cursor: first.nextCursor });
    expect(last.nextCursor).toBeNull();
    // Views refused for this post: reach alone was asked next.
    expect(last.posts[0]).toMatchObject({ impressions: null, reach: 1900, likes: 4 });
  });

  it("trades the user token for the page token when none is stored", async () => {
    const grant: Grant = grantOf(userToken, null, { extras: { pageId: PAGE_ID } });
    const account = { platformUserId: USER_ID, selectedPageId: null, scopes: [] };
    const page = await facebookAnalytics.fetchPage(ctx(), { grant, account, cursor: null });
    expect(page.posts).toHaveLength(2);
    expect(fake.calls.some((c) => c.path === `/api/${PAGE_ID}`)).toBe(true);
  });

  it("an OAuth login (scopes known) must name its Page; a token given without OAuth may be the Page's own", () => {
    const grant: Grant = grantOf(userToken);
    const oauth = { platformUserId: USER_ID, selectedPageId: null, scopes: ["pages_read_engagement"] };
    expect(facebookAnalytics.unavailable?.(oauth, grant)).toMatchObject({ field: "pageId" });
    expect(facebookAnalytics.unavailable?.({ ...oauth, selectedPageId: PAGE_ID }, grant)).toBeNull();
    expect(facebookAnalytics.unavailable?.({ ...oauth, scopes: [] }, grant)).toBeNull();
  });

  it("a revoked page token is a refusal", async () => {
    const grant: Grant = grantOf(userToken, null, { extras: { pageAccessToken: "revoked" } });
    const account = { platformUserId: USER_ID, selectedPageId: PAGE_ID, scopes: [] };
    const err = await facebookAnalytics.fetchPage(ctx(), { grant, account, cursor: null }).catch((e) => e);
    expect(err).toMatchObject({ kind: "refused" });
  });
});
