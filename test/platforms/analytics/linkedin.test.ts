import { beforeEach, describe, expect, it } from "vitest";
import { LINKEDIN_VERSION, linkedinAnalytics } from "../../../src/platforms/analytics/linkedin";
import type { Grant } from "../../../src/platforms/types";
import { type FakePlatform, fakePlatform } from "../../helpers/fake-provider";
import { grantOf, NOW, platformTestContext } from "../../helpers/platform-context";

const MEMBER = "yrZCpj2Z12";
const ORG = "urn:li:organization:5515715";
const PAGE_SCOPES = [
  "openid",
  "profile",
  "w_member_social",
  "r_organization_social",
  "w_organization_social",
  "rw_organization_admin",
];

let fake: FakePlatform;
let grant: Grant;
let statsUrls: string[];

/** A Post as GET /rest/posts?q=author answers it (the fields that matter here). */
function post(id: string, publishedAt: number, state = "PUBLISHED") {
  return {
    id,
    author: ORG,
    commentary: "Update",
    visibility: "PUBLIC",
    distribution: { feedDistribution: "MAIN_FEED", targetEntities: [], thirdPartyDistributionChannels: [] },
    lifecycleState: state,
    isReshareDisabledByAuthor: false,
    createdAt: publishedAt - 1000,
    lastModifiedAt: publishedAt,
    publishedAt,
  };
}

beforeEach(() => {
  fake = fakePlatform("linkedin");
  const issued = fake.newGrant({ id: MEMBER, username: "m", name: "M" });
  grant = grantOf(issued.accessToken);
  statsUrls = [];
  fake.api("GET /rest/posts", ({ request, url }) => {
    expect(request.headers.get("linkedin-version")).toBe(LINKEDIN_VERSION);
    expect(request.headers.get("x-restli-protocol-version")).toBe("2.0.0");
    expect(url.searchParams.get("q")).toBe("author");
    const start = Number(url.searchParams.get("start"));
    const count = Number(url.searchParams.get("count"));
    const all = [
      ...Array.from({ length: 25 }, (_, i) =>
        post(`urn:li:share:70000000000000000${10 + i}`, NOW - (i + 1) * 86_400_000),
      ),
      post("urn:li:ugcPost:7000000000000000099", NOW - 30 * 86_400_000),
      post("urn:li:share:7000000000000000098", NOW - 31 * 86_400_000, "DRAFT"),
    ];
    return Response.json({
      paging: { start, count, links: [], total: all.length },
      elements: all.slice(start, start + count),
    });
  });
  fake.api("GET /rest/organizationalEntityShareStatistics", ({ url }) => {
    statsUrls.push(url.href);
    const list = (name: string) =>
      (url.search.match(new RegExp(`${name}=List\\(([^)]*)\\)`))?.[1] ?? "")
        .split(",")
        .filter(Boolean)
        .map(decodeURIComponent);
    const elements = [
      ...list("shares").map((share) => ({ share })),
      ...list("ugcPosts").map((ugcPost) => ({ ugcPost })),
    ].map((key) => ({
      ...key,
      organizationalEntity: url.searchParams.get("organizationalEntity"),
      totalShareStatistics: {
        uniqueImpressionsCount: 80,
        shareCount: 2,
        engagement: 0.05,
        clickCount: 9,
        likeCount: 11,
        impressionCount: 140,
        commentCount: 3,
      },
    }));
    return Response.json({ paging: { count: 10, start: 0, links: [] }, elements });
  });
});

const ctx = () => platformTestContext("linkedin");

describe("linkedin version", () => {
  it("sends a LinkedIn-Version released after 202603, which sunsets on 16 March 2027", () => {
    expect(LINKEDIN_VERSION).toMatch(/^20\d{4}$/);
    expect(Number(LINKEDIN_VERSION)).toBeGreaterThan(202603);
  });
});

describe("LinkedIn post analytics", () => {
  it("reads an organisation's posts and their share statistics, page by page", async () => {
    const account = { platformUserId: MEMBER, selectedPageId: "5515715", scopes: PAGE_SCOPES };
    expect(linkedinAnalytics.unavailable?.(account, grant)).toBeNull();
    const first = await linkedinAnalytics.fetchPage(ctx(), { grant, account, cursor: null });
    expect(first.posts).toHaveLength(25);
    expect(first.posts[0]).toEqual({
      platformPostId: "urn:li:share:7000000000000000010",
      publishedAt: NOW - 86_400_000,
      impressions: 140,
      reach: 80,
      likes: 11,
      comments: 3,
      shares: 2,
      saves: null,
      videoViews: null,
    });
    expect(first.total).toBe(27);
    expect(first.nextCursor).toBe("25");
    // Rest.li list syntax: literal parentheses and commas, encoded urns.
    expect(statsUrls[0]).toContain("shares=List(urn%3Ali%3Ashare%3A7000000000000000010,");
    expect(statsUrls[0]).toContain(`organizationalEntity=${encodeURIComponent(ORG)}`);

    const last = await linkedinAnalytics.fetchPage(ctx(), { grant, account, cursor: "25" });
    expect(last.posts.map((p) => p.platformPostId)).toEqual(["urn:li:ugcPost:7000000000000000099"]);
    expect(statsUrls[1]).toContain("ugcPosts=List(urn%3Ali%3AugcPost%3A7000000000000000099)");
    expect(last.nextCursor).toBeNull();
  });

  it("personal profiles need r_member_social, which only approved partners get", () => {
    const member = {
      platformUserId: MEMBER,
      selectedPageId: null,
      scopes: ["openid", "profile", "w_member_social"],
    };
    expect(linkedinAnalytics.unavailable?.(member, grant)).toMatchObject({ field: "platform" });
    const pageWithoutAdmin = { ...member, selectedPageId: ORG };
    expect(linkedinAnalytics.unavailable?.(pageWithoutAdmin, grant)?.message).toContain(
      "r_organization_social",
    );
  });

  it("with r_member_social, reads a member's posts with likes and comments from socialActions", async () => {
    fake.api("GET /rest/posts", ({ url }) => {
      expect(url.searchParams.get("author")).toBe(`urn:li:person:${MEMBER}`);
      return Response.json({
        paging: { start: 0, count: 25, links: [] },
        elements: [post("urn:li:share:6844785523593134080", NOW - 1000)],
      });
    });
    fake.api(`GET /rest/socialActions/${encodeURIComponent("urn:li:share:6844785523593134080")}`, () =>
      Response.json({
        commentsSummary: { selectedComments: [], totalFirstLevelComments: 4, aggregatedTotalComments: 6 },
        target: "urn:li:share:6844785523593134080",
        likesSummary: {
          selectedLikes: [],
          aggregatedTotalLikes: 21,
          likedByCurrentUser: false,
          totalLikes: 21,
        },
      }),
    );
    const account = { platformUserId: MEMBER, selectedPageId: null, scopes: ["r_member_social"] };
    const page = await linkedinAnalytics.fetchPage(ctx(), { grant, account, cursor: null });
    expect(page.posts).toEqual([expect.objectContaining({ likes: 21, comments: 6, impressions: null })]);
    expect(page.nextCursor).toBeNull();
  });
});
