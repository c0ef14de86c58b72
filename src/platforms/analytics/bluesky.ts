import { fetchJson, text } from "./request";
import { type AnalyticsFetcher, count, emptyMetrics, parseTime, sumKnown } from "./types";

/** `GET /xrpc/app.bsky.feed.getAuthorFeed`: feed items are the author's posts, or reposts (with a reason). */
interface AuthorFeed {
  cursor?: string;
  feed?: {
    post?: {
      uri?: string;
      cid?: string;
      author?: { did?: string };
      record?: { createdAt?: string };
      indexedAt?: string;
      likeCount?: number;
      repostCount?: number;
      replyCount?: number;
      quoteCount?: number;
    };
    reason?: { $type?: string };
  }[];
}

const PAGE_SIZE = 50;

/**
 * Bluesky: the account's own posts (replies and reposts of others left out) with their public like,
 * reply, repost and quote counts. Bluesky shows no impressions or reach to anyone.
 */
export const blueskyAnalytics: AnalyticsFetcher = {
  platform: "bluesky",

  async fetchPage(ctx, { grant, account, cursor }) {
    const did = text(grant.extras, "did") ?? account.platformUserId;
    const body = await fetchJson<AuthorFeed>(
      ctx,
      "/xrpc/app.bsky.feed.getAuthorFeed",
      {
        token: grant.accessToken,
        query: {
          actor: did,
          limit: String(PAGE_SIZE),
          filter: "posts_no_replies",
          cursor: cursor ?? undefined,
        },
        // XRPC announces the end of a rate-limit window in RateLimit-Reset (epoch seconds).
        resetHeader: "ratelimit-reset",
      },
      "Bluesky getAuthorFeed",
    );
    const posts = (body.feed ?? []).flatMap(({ post, reason }) => {
      if (reason || !post?.uri || post.author?.did !== did) return [];
      return [
        {
          ...emptyMetrics(
            post.uri,
            parseTime(post.record?.createdAt ?? post.indexedAt, "Bluesky getAuthorFeed"),
          ),
          likes: count(post.likeCount),
          comments: count(post.replyCount),
          shares: sumKnown(count(post.repostCount), count(post.quoteCount)),
        },
      ];
    });
    const more = Boolean(body.cursor) && body.cursor !== cursor && Boolean(body.feed?.length);
    return { posts, nextCursor: more ? (body.cursor as string) : null };
  },
};
