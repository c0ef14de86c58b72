import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import {
  historyTimes,
  localSlotter,
  type MeasuredPost,
  PLATFORM_DEFAULTS,
} from "../../src/features/analytics/optimal-times";
import { DAY, HOUR, MINUTE } from "../../src/lib/time";
import { api, call, createWorkspace, insertAccount, ok, type TestWorkspace } from "../helpers/api";

const optimalTimes = (id: string, query: { timezone?: string; limit?: number } = {}) =>
  ok(api(ws.key).GET("/v1/accounts/{id}/optimal-times", { params: { path: { id }, query } }));

let ws: TestWorkspace;

beforeEach(async () => {
  ws = await createWorkspace();
});

type Metrics = Partial<Omit<MeasuredPost, "publishedAt">>;

/** Stores posts for an account as a backfill would have. */
async function storePosts(accountId: string, platform: string, posts: (Metrics & { publishedAt: number })[]) {
  const statements = posts.map((post, i) =>
    env.DB.prepare(
      `INSERT INTO post_metrics (account_id, platform_post_id, workspace_id, platform, published_at, impressions, reach, likes, comments, shares, saves, video_views, imported_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).bind(
      accountId,
      `post-${i}`,
      ws.id,
      platform,
      post.publishedAt,
      post.impressions ?? null,
      post.reach ?? null,
      post.likes ?? null,
      post.comments ?? null,
      post.shares ?? null,
      post.saves ?? null,
      post.videoViews ?? null,
      Date.now(),
    ),
  );
  for (let i = 0; i < statements.length; i += 50) await env.DB.batch(statements.slice(i, i + 50));
}

/** The instant of a local wall-clock time in `zone` (searching the UTC offsets a zone can have). */
function localInstant(zone: string, y: number, mo: number, d: number, h: number, mi = 0): number {
  const slot = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  const wanted = `${y}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}, ${String(h).padStart(2, "0")}:${String(mi).padStart(2, "0")}`;
  for (let offset = -14 * 60; offset <= 14 * 60; offset += 15) {
    const t = Date.UTC(y, mo - 1, d, h, mi) - offset * MINUTE;
    if (slot.format(t) === wanted) return t;
  }
  throw new Error(`no instant for ${wanted} in ${zone}`);
}

/** A post whose engagement rate is `rate` on 1,000 impressions. */
const post = (publishedAt: number, rate: number) => ({
  publishedAt,
  impressions: 1000,
  likes: Math.round(rate * 1000),
  comments: 0,
  shares: 0,
  saves: 0,
});

describe("local slots across daylight-saving changes", () => {
  it.each([
    // America/New_York springs forward on 8 Mar 2026 and falls back on 1 Nov 2026.
    ["America/New_York", [2026, 3, 2], [2026, 3, 9], "monday"],
    ["America/New_York", [2026, 10, 26], [2026, 11, 2], "monday"],
    // Europe/Berlin springs forward on 29 Mar 2026 and falls back on 25 Oct 2026.
    ["Europe/Berlin", [2026, 3, 23], [2026, 3, 30], "monday"],
    ["Europe/Berlin", [2026, 10, 19], [2026, 10, 26], "monday"],
  ] as const)("%s: 09:00 local before and after the change is the same slot", (zone, before, after, day) => {
    const slotOf = localSlotter(zone);
    const a = localInstant(zone, before[0], before[1], before[2], 9);
    const b = localInstant(zone, after[0], after[1], after[2], 9);
    // A week apart on the wall clock, but not 168 hours apart in UTC: the offset changed in between.
    expect(Math.abs(b - a - 7 * DAY)).toBe(HOUR);
    expect(slotOf(a)).toEqual({ day, hour: 9 });
    expect(slotOf(b)).toEqual({ day, hour: 9 });
  });

  it("a DST-spanning history keeps its 09:00 posts together in one slot", () => {
    const posts: MeasuredPost[] = [];
    // Tuesdays at 09:00 New York time from February to April 2026, across the 8 March change.
    for (let week = 0; week < 10; week++) {
      const day = new Date(Date.UTC(2026, 1, 3 + 7 * week));
      const t = localInstant("America/New_York", 2026, day.getUTCMonth() + 1, day.getUTCDate(), 9);
      posts.push({ ...post(t, 0.08), reach: null, videoViews: null } as MeasuredPost);
    }
    for (let i = 0; i < 10; i++)
      posts.push({
        ...post(localInstant("America/New_York", 2026, 2, 5, 15) + i * 7 * DAY, 0.01),
        reach: null,
        videoViews: null,
      } as MeasuredPost);
    const result = historyTimes(posts, "America/New_York", 3);
    expect(result?.slots[0]).toMatchObject({ day: "tuesday", hour: 9, sampleSize: 10 });
    // In UTC the same posts straddle two hours: a fixed offset would have split them.
    const utc = historyTimes(posts, "UTC", 5);
    expect(
      utc?.slots
        .filter((s) => s.day === "tuesday")
        .map((s) => s.sampleSize)
        .sort(),
    ).toEqual([5, 5]);
  });
});

describe("GET /v1/accounts/:id/optimal-times", () => {
  it("ranks a consistently good slot above a slot with one huge outlier post", async () => {
    const account = await insertAccount(ws.id, { platform: "instagram", credentials: { accessToken: "t" } });
    const zone = "America/New_York";
    const posts = [];
    for (let week = 0; week < 12; week++) {
      // Known best: Wednesdays 11:00, every week, a steady 8%.
      posts.push(post(localInstant(zone, 2026, 6, 3, 11) + week * 7 * DAY, 0.08));
      // Baseline: Mondays 08:00 and Thursdays 17:00 around 2%.
      posts.push(post(localInstant(zone, 2026, 6, 1, 8) + week * 7 * DAY, 0.02));
      posts.push(post(localInstant(zone, 2026, 6, 4, 17) + week * 7 * DAY, 0.025));
    }
    // One viral post on a Saturday at 22:00: 90% engagement, once.
    posts.push(post(localInstant(zone, 2026, 7, 11, 22), 0.9));
    await storePosts(account.id, "instagram", posts);

    const times = await optimalTimes(account.id, { timezone: zone, limit: 4 });
    expect(times).toMatchObject({ timezone: zone, source: "history" });
    expect(times.method).toContain("(n × slotMean + 5 × accountMean) / (n + 5)");
    expect(times.slots[0]).toMatchObject({ day: "wednesday", hour: 11, sampleSize: 12 });
    expect(times.slots[0]?.score).toBeGreaterThan(1);
    const outlier = times.slots.find((s) => s.day === "saturday");
    expect(outlier?.sampleSize).toBe(1);
    expect(outlier?.score).toBeLessThan(times.slots[0]?.score ?? 0);
    expect(times.slots).toHaveLength(4);
    for (const slot of times.slots)
      expect(Object.keys(slot).sort()).toEqual(["day", "hour", "sampleSize", "score"]);
  });

  it("ranks by engagement relative to the median when posts have no impressions or reach", async () => {
    const account = await insertAccount(ws.id, { platform: "bluesky", credentials: { accessToken: "t" } });
    const zone = "Europe/Berlin";
    const posts = [];
    for (let week = 0; week < 8; week++) {
      posts.push({
        publishedAt: localInstant(zone, 2026, 9, 1, 19) + week * 7 * DAY,
        likes: 60,
        comments: 10,
        shares: 5,
      });
      posts.push({
        publishedAt: localInstant(zone, 2026, 9, 3, 7) + week * 7 * DAY,
        likes: 8,
        comments: 1,
        shares: 0,
      });
    }
    await storePosts(account.id, "bluesky", posts);
    const times = await optimalTimes(account.id, { timezone: zone });
    expect(times.source).toBe("history");
    expect(times.slots[0]).toMatchObject({ day: "tuesday", hour: 19, sampleSize: 8 });
  });

  it("answers research-based platform defaults when the history is too thin", async () => {
    const account = await insertAccount(ws.id, { platform: "linkedin", credentials: { accessToken: "t" } });
    await storePosts(
      account.id,
      "linkedin",
      Array.from({ length: 9 }, (_, i) => post(Date.UTC(2026, 5, 1 + i, 15), 0.05)),
    );
    const times = await optimalTimes(account.id);
    expect(times).toMatchObject({ timezone: "America/Chicago", source: "default" });
    expect(times.method).toContain("heuristic");
    const table = PLATFORM_DEFAULTS.linkedin ?? [];
    expect(times.slots.map((s) => [s.day, s.hour])).toEqual(table.slice(0, 5));
    expect(times.slots.every((s) => s.sampleSize === 0)).toBe(true);
    expect(times.slots[0]?.score).toBe(1);
  });

  it("answers the canonical zone name for any casing", async () => {
    const account = await insertAccount(ws.id, { platform: "twitter", credentials: { accessToken: "t" } });
    const times = await optimalTimes(account.id, { timezone: "europe/berlin", limit: 10 });
    expect(times.timezone).toBe("Europe/Berlin");
    expect(times.slots).toHaveLength(10);
  });

  it.each([
    ["timezone=Mars/Olympus_Mons", "timezone"],
    ["timezone=America/New_Yrok", "timezone"],
    ["timezone=", "timezone"],
    ["limit=0", "limit"],
    ["limit=11", "limit"],
    ["limit=five", "limit"],
  ])("rejects %s naming the field", async (query, field) => {
    const account = await insertAccount(ws.id, { platform: "twitter", credentials: { accessToken: "t" } });
    const res = await call(`/v1/accounts/${account.id}/optimal-times?${query}`, { key: ws.key });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(res.json.error.message).toContain(field);
    expect(res.json.error.details[0].field).toBe(field);
  });

  it("answers another workspace's account like a missing one", async () => {
    const account = await insertAccount(ws.id, { platform: "twitter", credentials: { accessToken: "t" } });
    const other = await createWorkspace();
    const { error, response } = await api(other.key).GET("/v1/accounts/{id}/optimal-times", {
      params: { path: { id: account.id } },
    });
    expect(response.status).toBe(404);
    expect(error?.error).toEqual({
      code: "NOT_FOUND",
      message: "Account not found",
      requestId: expect.stringMatching(/^req_/),
    });
  });
});
