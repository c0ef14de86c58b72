import { graphJson } from "../meta";
import { type GraphPage, graphInsights, graphNextCursor } from "./request";
import { type AnalyticsFetcher, emptyMetrics, parseTime, sumKnown } from "./types";

/** `GET /v1.0/me/threads` entries with the fields asked for below. */
interface Thread {
  id: string;
  timestamp?: string;
  /** TEXT_POST, IMAGE, VIDEO, CAROUSEL_ALBUM, AUDIO or REPOST_FACADE. */
  media_type?: string;
  is_quote_post?: boolean;
}

const PAGE_SIZE = 25;

/** views and shares are "in development" per Threads' docs: the fallback asks for the settled ones. */
const INSIGHTS = ["views,likes,replies,reposts,quotes,shares", "likes,replies,reposts,quotes"] as const;

/**
 * Threads: the user's own threads and each one's insights (views, likes, replies, reposts, quotes,
 * shares), which need threads_manage_insights. Reposts of other people's posts (REPOST_FACADE) have no
 * insights of their own and are skipped.
 */
export const threadsAnalytics: AnalyticsFetcher = {
  platform: "threads",
  requiredScopes: [["threads_manage_insights"]],

  async fetchPage(ctx, { grant, cursor }) {
    const auth = { query: { access_token: grant.accessToken } };
    const page = await graphJson<GraphPage<Thread>>(
      ctx,
      "/v1.0/me/threads",
      {
        query: {
          ...auth.query,
          fields: "id,timestamp,media_type,is_quote_post",
          limit: String(PAGE_SIZE),
          after: cursor ?? undefined,
        },
      },
      "Threads list",
    );
    const posts = [];
    for (const thread of page.data ?? []) {
      if (thread.media_type === "REPOST_FACADE") continue;
      const insights = await graphInsights(
        ctx,
        `/v1.0/${encodeURIComponent(thread.id)}/insights`,
        auth,
        INSIGHTS,
        "Threads insights",
      );
      posts.push({
        ...emptyMetrics(thread.id, parseTime(thread.timestamp, "Threads list")),
        impressions: insights.views ?? null,
        likes: insights.likes ?? null,
        comments: insights.replies ?? null,
        shares: sumKnown(insights.reposts ?? null, insights.quotes ?? null, insights.shares ?? null),
      });
    }
    // Threads documents only paging.cursors (no `next` link): an empty page ends the list.
    return { posts, nextCursor: graphNextCursor(page, cursor, { nextLink: false }) };
  },
};
