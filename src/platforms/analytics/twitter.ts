import { fetchJson } from "./request";
import { type AnalyticsFetcher, count, emptyMetrics, parseTime, sumKnown } from "./types";

/** `GET /2/users/:id/tweets` with tweet.fields=created_at,public_metrics. */
interface UserTweets {
  data?: {
    id: string;
    created_at?: string;
    public_metrics?: {
      retweet_count?: number;
      reply_count?: number;
      like_count?: number;
      quote_count?: number;
      bookmark_count?: number;
      impression_count?: number;
    };
  }[];
  meta?: { result_count?: number; next_token?: string; newest_id?: string; oldest_id?: string };
}

/** The most X returns per timeline page. */
const PAGE_SIZE = 100;

/**
 * X: the user's own posts timeline (the 3,200 most recent, retweets and replies left out) with
 * public_metrics, whose impression_count covers every post. non_public_metrics and organic_metrics
 * exist only for posts of the last 30 days, and asking for them on older pages yields empty pages
 * (per X's timelines guide), so they are not requested.
 */
export const twitterAnalytics: AnalyticsFetcher = {
  platform: "twitter",
  requiredScopes: [["tweet.read"], ["users.read"]],

  async fetchPage(ctx, { grant, account, cursor }) {
    const body = await fetchJson<UserTweets>(
      ctx,
      `/2/users/${encodeURIComponent(account.platformUserId)}/tweets`,
      {
        token: grant.accessToken,
        query: {
          max_results: String(PAGE_SIZE),
          "tweet.fields": "created_at,public_metrics",
          exclude: "retweets,replies",
          pagination_token: cursor ?? undefined,
        },
        // X announces the end of a rate-limit window in x-rate-limit-reset (epoch seconds), not Retry-After.
        resetHeader: "x-rate-limit-reset",
      },
      "X user tweets",
    );
    const posts = (body.data ?? []).map((tweet) => {
      const m = tweet.public_metrics ?? {};
      return {
        ...emptyMetrics(tweet.id, parseTime(tweet.created_at, "X user tweets")),
        impressions: count(m.impression_count),
        likes: count(m.like_count),
        comments: count(m.reply_count),
        shares: sumKnown(count(m.retweet_count), count(m.quote_count)),
        saves: count(m.bookmark_count),
      };
    });
    return { posts, nextCursor: body.meta?.next_token ?? null };
  },
};
