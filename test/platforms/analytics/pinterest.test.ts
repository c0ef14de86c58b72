import { beforeEach, describe, expect, it } from "vitest";
import { pinterestAnalytics } from "../../../src/platforms/analytics/pinterest";
import type { Grant } from "../../../src/platforms/types";
import { type FakePlatform, fakePlatform } from "../../helpers/fake-provider";
import { grantOf, platformTestContext } from "../../helpers/platform-context";

const account = { platformUserId: "549755885175", selectedPageId: null, scopes: [] };

let fake: FakePlatform;
let grant: Grant;
let analyticsQueries: URLSearchParams[];

/** A Pin as GET /v5/pins?pin_metrics=true answers it: created_at is zone-less UTC. */
function pin(id: string, createdAt: string, lifetime: Record<string, number> | null) {
  return {
    id,
    created_at: createdAt,
    link: "https://www.example.com/",
    title: `Pin ${id}`,
    description: "",
    board_id: "549755885175",
    board_owner: { username: "example" },
    media: { media_type: "image", images: {} },
    pin_metrics: lifetime
      ? { "90d": { pin_click: 7, impression: 2, clickthrough: 3 }, lifetime_metrics: lifetime }
      : null,
  };
}

beforeEach(() => {
  fake = fakePlatform("pinterest");
  const issued = fake.newGrant({ id: account.platformUserId, username: "example", name: "E" });
  grant = grantOf(issued.accessToken);
  analyticsQueries = [];
  fake.api("GET /v5/pins", ({ url, grant: g }) => {
    if (!g) return Response.json({ code: 2, message: "Authentication failed." }, { status: 401 });
    expect(url.searchParams.get("pin_metrics")).toBe("true");
    if (!url.searchParams.get("bookmark"))
      return Response.json({
        items: [
          pin("813744226420795884", "2026-11-01T08:30:00", {
            pin_click: 30,
            impression: 1200,
            clickthrough: 9,
            reaction: 15,
            comment: 2,
          }),
          pin("813744226420795000", "2026-01-15T10:00:00", {
            pin_click: 3,
            impression: 400,
            clickthrough: 1,
            reaction: 4,
            comment: 0,
          }),
        ],
        bookmark: "Y2JVSG81V2sxcmNHRlpWM1J",
      });
    return Response.json({ items: [pin("813744226420790000", "2022-05-01T10:00:00", null)], bookmark: null });
  });
  fake.api("GET /v5/pins/813744226420795884/analytics", ({ url }) => {
    analyticsQueries.push(url.searchParams);
    return Response.json({
      all: {
        daily_metrics: [{ data_status: "READY", date: "2026-11-01", metrics: { SAVE: 10 } }],
        summary_metrics: { SAVE: 33 },
      },
    });
  });
});

const ctx = () => platformTestContext("pinterest");

describe("Pinterest post analytics", () => {
  it("reads pins with their lifetime metrics, and saves for pins within the analytics window", async () => {
    const first = await pinterestAnalytics.fetchPage(ctx(), { grant, account, cursor: null });
    expect(first.posts).toEqual([
      {
        platformPostId: "813744226420795884",
        publishedAt: Date.parse("2026-11-01T08:30:00Z"),
        impressions: 1200,
        reach: null,
        likes: 15,
        comments: 2,
        shares: null,
        saves: 33,
        videoViews: null,
      },
      expect.objectContaining({ platformPostId: "813744226420795000", impressions: 400, saves: null }),
    ]);
    expect(analyticsQueries).toHaveLength(1);
    expect(analyticsQueries[0]?.get("metric_types")).toBe("SAVE");
    expect(analyticsQueries[0]?.get("start_date")).toBe("2026-11-01");
    expect(analyticsQueries[0]?.get("end_date")).toBe("2026-11-20");
    expect(first.nextCursor).toBe("Y2JVSG81V2sxcmNHRlpWM1J");

    const last = await pinterestAnalytics.fetchPage(ctx(), { grant, account, cursor: first.nextCursor });
    expect(last.nextCursor).toBeNull();
    // A pin from before lifetime metrics existed: everything unknown, nothing invented.
    expect(last.posts[0]).toMatchObject({ impressions: null, likes: null, comments: null, saves: null });
  });

  it("a pin without analytics leaves saves unknown; a rate limit on it waits", async () => {
    fake.api("GET /v5/pins/813744226420795884/analytics", () =>
      Response.json({ code: 1, message: "Invalid parameters." }, { status: 400 }),
    );
    const page = await pinterestAnalytics.fetchPage(ctx(), { grant, account, cursor: null });
    expect(page.posts[0]).toMatchObject({ impressions: 1200, saves: null });

    fake.api("GET /v5/pins/813744226420795884/analytics", () =>
      Response.json(
        { code: 8, message: "Rate limit exceeded." },
        { status: 429, headers: { "retry-after": "30" } },
      ),
    );
    const err = await pinterestAnalytics.fetchPage(ctx(), { grant, account, cursor: null }).catch((e) => e);
    expect(err).toMatchObject({ kind: "transient", details: { retryAfterMs: 30_000 } });
  });
});
