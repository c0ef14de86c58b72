import { DAY } from "../../lib/time";
import { apiJson, ProviderError } from "../http";
import type { PlatformContext } from "../types";
import { type AnalyticsFetcher, count, emptyMetrics, parseTime } from "./types";

/** `GET /v5/pins?pin_metrics=true`: `created_at` has no zone (UTC). */
interface PinList {
  items?: {
    id: string;
    created_at?: string;
    pin_metrics?: {
      "90d"?: Record<string, number>;
      lifetime_metrics?: {
        pin_click?: number;
        impression?: number;
        clickthrough?: number;
        reaction?: number;
        comment?: number;
      };
    } | null;
  }[];
  bookmark?: string | null;
}

/** `GET /v5/pins/{pin_id}/analytics`: totals over the range per metric. */
interface PinAnalytics {
  all?: {
    summary_metrics?: Record<string, number>;
    lifetime_metrics?: Record<string, number>;
  };
}

const PAGE_SIZE = 25;

/** Pin analytics reach back 90 days at most (unconfirmed in the reference: the usual reading of it). */
const ANALYTICS_WINDOW_MS = 89 * DAY;

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Saves of a young pin over its life so far; null where Pinterest will not say. */
async function recentSaves(
  ctx: PlatformContext,
  token: string,
  pinId: string,
  createdAt: number,
): Promise<number | null> {
  try {
    const analytics = await apiJson<PinAnalytics>(
      ctx,
      `/v5/pins/${encodeURIComponent(pinId)}/analytics`,
      {
        token,
        query: {
          start_date: day(Math.max(createdAt, ctx.now - ANALYTICS_WINDOW_MS)),
          end_date: day(ctx.now),
          metric_types: "SAVE",
        },
      },
      "Pinterest pin analytics",
    );
    return count(analytics.all?.summary_metrics?.SAVE ?? analytics.all?.lifetime_metrics?.SAVE);
  } catch (err) {
    // A pin Pinterest keeps no analytics for (too old, not the user's own) leaves saves unknown; the
    // list call just succeeded with the same token, so only a 401 or a rate limit here is news.
    if (err instanceof ProviderError && err.kind !== "transient" && err.details.status !== 401) return null;
    throw err;
  }
}

/**
 * Pinterest: the user's pins with their lifetime metrics in the same call (pin_metrics=true:
 * impressions, reactions, comments; lifetime metrics exist for pins created since 20 Mar 2023 and
 * for video pins before), plus saves from pin analytics for pins young enough to have them.
 */
export const pinterestAnalytics: AnalyticsFetcher = {
  platform: "pinterest",
  requiredScopes: [["pins:read"]],

  async fetchPage(ctx, { grant, cursor }) {
    const list = await apiJson<PinList>(
      ctx,
      "/v5/pins",
      {
        token: grant.accessToken,
        query: { page_size: String(PAGE_SIZE), pin_metrics: "true", bookmark: cursor ?? undefined },
      },
      "Pinterest pins",
    );
    const posts = [];
    for (const pin of list.items ?? []) {
      const publishedAt = parseTime(pin.created_at, "Pinterest pins");
      const lifetime = pin.pin_metrics?.lifetime_metrics ?? {};
      posts.push({
        ...emptyMetrics(pin.id, publishedAt),
        impressions: count(lifetime.impression),
        likes: count(lifetime.reaction),
        comments: count(lifetime.comment),
        saves:
          ctx.now - publishedAt <= ANALYTICS_WINDOW_MS
            ? await recentSaves(ctx, grant.accessToken, pin.id, publishedAt)
            : null,
      });
    }
    return { posts, nextCursor: list.bookmark || null };
  },
};
