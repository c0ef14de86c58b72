import type { Platform } from "../../lib/domain";
import { blueskyAnalytics } from "./bluesky";
import { facebookAnalytics } from "./facebook";
import { instagramAnalytics } from "./instagram";
import { linkedinAnalytics } from "./linkedin";
import { pinterestAnalytics } from "./pinterest";
import { threadsAnalytics } from "./threads";
import { tiktokAnalytics } from "./tiktok";
import { twitterAnalytics } from "./twitter";
import type { AnalyticsFetcher } from "./types";
import { youtubeAnalytics } from "./youtube";

/** The platforms whose owners can read their own posts' metrics, each with its fetcher. */
export const ANALYTICS_FETCHERS = {
  twitter: twitterAnalytics,
  linkedin: linkedinAnalytics,
  instagram: instagramAnalytics,
  facebook: facebookAnalytics,
  threads: threadsAnalytics,
  youtube: youtubeAnalytics,
  tiktok: tiktokAnalytics,
  pinterest: pinterestAnalytics,
  bluesky: blueskyAnalytics,
} satisfies Partial<Record<Platform, AnalyticsFetcher>>;

/** Why the other platforms have no backfill, as the API answers it. */
export const NO_POST_ANALYTICS: Record<Exclude<Platform, keyof typeof ANALYTICS_FETCHERS>, string> = {
  // The Bot API has no call for a channel post's views; messages.getMessagesViews is MTProto, users only.
  telegram: "Telegram bots cannot read channel post statistics through the Bot API",
  whatsapp: "WhatsApp has no published posts to measure, only messages",
  // v4 localPosts:reportInsights gave only views and button clicks, and belongs to the v4 insights
  // family Google is retiring for the Performance API, which has no per-post metrics (unconfirmed).
  googlebusiness: "Google Business Profile offers no per-post engagement metrics",
  // The Public Profile API is allowlist-only; no per-story metrics endpoint is documented (unconfirmed).
  snapchat: "Snapchat offers no per-post metrics to third-party apps",
  // /user/{name}/submitted needs the history scope, which Switchboard does not request.
  reddit: "Reddit post history needs the history scope, which Switchboard does not request",
  // Statuses of an account need read:statuses (Switchboard asks read:accounts), and carry no impressions.
  mastodon: "Mastodon post history needs the read:statuses scope, which Switchboard does not request",
};

export function analyticsFetcher(platform: Platform): AnalyticsFetcher | undefined {
  return (ANALYTICS_FETCHERS as Partial<Record<Platform, AnalyticsFetcher>>)[platform];
}
