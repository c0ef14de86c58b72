import { ProviderError } from "../http";
import { graphJson } from "../meta";
import type { PlatformContext } from "../types";
import { type GraphPage, graphInsights, graphNextCursor, text } from "./request";
import { type AnalyticsFetcher, count, emptyMetrics, parseTime } from "./types";

/** `GET /{page-id}/posts` entries with the summary fields asked for below. */
interface PagePost {
  id: string;
  created_time?: string;
  shares?: { count?: number };
  reactions?: { summary?: { total_count?: number } };
  comments?: { summary?: { total_count?: number } };
}

/** Counts come from the edges' summaries; limit(0) keeps the individual reactions and comments out. */
const POST_FIELDS =
  "id,created_time,shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)";
const PAGE_SIZE = 25;

/**
 * Post insights. post_impressions_unique was deprecated (15 Jun 2025) for post_total_media_view_unique
 * and post impressions (15 Nov 2025) for views; the views metric's name post_media_view is unconfirmed,
 * hence the fallback to reach alone.
 */
const INSIGHTS = ["post_media_view,post_total_media_view_unique", "post_total_media_view_unique"] as const;

/** A page access token from the user token, for a page the user manages. */
async function pageToken(ctx: PlatformContext, pageId: string, userToken: string): Promise<string> {
  const page = await graphJson<{ id?: string; access_token?: string }>(
    ctx,
    `/${encodeURIComponent(pageId)}`,
    { token: userToken, query: { fields: "access_token" } },
    "Facebook page token",
  );
  if (!page.access_token)
    throw new ProviderError("refused", "Facebook gave no page token: the user does not manage this page");
  return page.access_token;
}

/**
 * Facebook Pages: the page's posts with reaction, comment and share counts, and each post's insights
 * (views, reach) with the page token. The page is the selected one, else extras.pageId, else the
 * account itself (a token for the page). The user token stands in for a missing page token only to
 * fetch one.
 */
export const facebookAnalytics: AnalyticsFetcher = {
  platform: "facebook",
  // Checked 2026-12-06: https://developers.facebook.com/docs/insights/get-started (read_insights too, which grants made before it was asked for lack: not required, so their counts still load)
  requiredScopes: [["pages_read_engagement"]],

  unavailable(account, grant) {
    // Known scopes mean an OAuth grant, whose token is the Facebook user's: it must name a Page. A
    // token given without OAuth may be the Page's own, which is then the account itself.
    if (account.selectedPageId || text(grant.extras, "pageId") || !account.scopes.length) return null;
    return {
      field: "pageId",
      message: "Select the Facebook Page first (POST /v1/accounts/{id}/select-page), then start the backfill",
    };
  },

  async fetchPage(ctx, { grant, account, cursor }) {
    const pageId = account.selectedPageId ?? text(grant.extras, "pageId") ?? account.platformUserId;
    const token =
      text(grant.extras, "pageAccessToken") ??
      (pageId === account.platformUserId
        ? grant.accessToken
        : await pageToken(ctx, pageId, grant.accessToken));
    const page = await graphJson<GraphPage<PagePost>>(
      ctx,
      `/${encodeURIComponent(pageId)}/posts`,
      { token, query: { fields: POST_FIELDS, limit: String(PAGE_SIZE), after: cursor ?? undefined } },
      "Facebook page posts",
    );
    const posts = [];
    for (const post of page.data ?? []) {
      const insights = await graphInsights(
        ctx,
        `/${encodeURIComponent(post.id)}/insights`,
        { token },
        INSIGHTS,
        "Facebook post insights",
      );
      posts.push({
        ...emptyMetrics(post.id, parseTime(post.created_time, "Facebook page posts")),
        impressions: insights.post_media_view ?? null,
        reach: insights.post_total_media_view_unique ?? null,
        likes: count(post.reactions?.summary?.total_count),
        comments: count(post.comments?.summary?.total_count),
        // Graph leaves `shares` out of posts nobody shared (widely observed; not stated in the reference).
        shares: count(post.shares?.count) ?? 0,
      });
    }
    return { posts, nextCursor: graphNextCursor(page, cursor, { nextLink: true }) };
  },
};
