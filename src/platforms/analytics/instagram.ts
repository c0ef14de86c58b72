import { facebookLoginContext, isFacebookLogin, selectedIgUserId } from "../instagram";
import { GRAPH_VERSION, graphJson } from "../meta";
import { type GraphPage, graphInsights, graphNextCursor, text } from "./request";
import { type AnalyticsFetcher, count, emptyMetrics, parseTime } from "./types";

/** `GET /{ig-user-id}/media` entries with the fields asked for below. */
interface Media {
  id: string;
  timestamp?: string;
  /** IMAGE, VIDEO or CAROUSEL_ALBUM. */
  media_type?: string;
  /** FEED, REELS, STORY or AD. */
  media_product_type?: string;
  like_count?: number;
  comments_count?: number;
}

const MEDIA_FIELDS = "id,timestamp,media_type,media_product_type,like_count,comments_count";
const PAGE_SIZE = 25;

/**
 * Media insights, most first. `views` replaced `impressions` and `plays` (deprecated for all versions on
 * 21 Apr 2025); a media type without `views` refuses the whole request, hence the fallback without it.
 */
// Checked 2026-12-06: https://developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights (views for FEED, STORY and REELS)
const INSIGHTS = ["reach,saved,shares,views", "reach,saved"] as const;

/**
 * Instagram professional accounts: the media list (likes and comments ride along) and each media's
 * insights (reach, saves, shares, views; they need instagram_business_manage_insights or
 * instagram_manage_insights, and are left null without). Instagram Login reads graph.instagram.com with
 * the Instagram token; Facebook Login reads graph.facebook.com with the selected page's token.
 */
export const instagramAnalytics: AnalyticsFetcher = {
  platform: "instagram",
  unavailable(_account, grant) {
    if (isFacebookLogin(grant.extras) && !selectedIgUserId(grant.extras)) {
      return {
        field: "pageId",
        message:
          "Select the Instagram business account first (POST /v1/accounts/{id}/select-page), then start the backfill",
      };
    }
    return null;
  },

  async fetchPage(ctx, { grant, account, cursor }) {
    const fb = isFacebookLogin(grant.extras);
    const igUserId = selectedIgUserId(grant.extras) ?? account.platformUserId;
    // Facebook-Login tokens are read on graph.facebook.com, as the Instagram module's own calls are.
    const graph = fb ? facebookLoginContext(ctx) : ctx;
    // Instagram Login takes the token as a query parameter, as the profile call does; Facebook a bearer.
    const auth = fb
      ? { token: text(grant.extras, "pageAccessToken") ?? grant.accessToken }
      : { query: { access_token: grant.accessToken } };
    const page = await graphJson<GraphPage<Media>>(
      graph,
      `/${GRAPH_VERSION}/${encodeURIComponent(igUserId)}/media`,
      {
        token: auth.token,
        query: { ...auth.query, fields: MEDIA_FIELDS, limit: String(PAGE_SIZE), after: cursor ?? undefined },
      },
      "Instagram media",
    );
    const posts = [];
    // One insights call at a time: the job already runs up to six accounts side by side.
    for (const media of page.data ?? []) {
      const insights = await graphInsights(
        graph,
        `/${GRAPH_VERSION}/${encodeURIComponent(media.id)}/insights`,
        auth,
        INSIGHTS,
        "Instagram media insights",
      );
      const video = media.media_type === "VIDEO" || media.media_product_type === "REELS";
      posts.push({
        ...emptyMetrics(media.id, parseTime(media.timestamp, "Instagram media")),
        impressions: insights.views ?? null,
        reach: insights.reach ?? null,
        likes: count(media.like_count),
        comments: count(media.comments_count),
        shares: insights.shares ?? null,
        saves: insights.saved ?? null,
        videoViews: video ? (insights.views ?? null) : null,
      });
    }
    return { posts, nextCursor: graphNextCursor(page, cursor, { nextLink: true }) };
  },
};
