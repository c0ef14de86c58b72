import { GOOGLE_OAUTH_ENDPOINTS, GOOGLE_REFRESH, googleJson, googleOAuth, revokeGoogle } from "./google";
import { ProviderError } from "./http";
import type { PlatformModule } from "./types";

interface Thumbnail {
  url: string;
  width?: number;
  height?: number;
}

/** `GET /youtube/v3/channels?part=snippet&mine=true` (a youtube#channelListResponse). */
interface ChannelList {
  pageInfo?: { totalResults?: number; resultsPerPage?: number };
  items?: {
    id: string;
    snippet?: {
      title?: string;
      description?: string;
      customUrl?: string;
      thumbnails?: { default?: Thumbnail; medium?: Thumbnail; high?: Thumbnail };
    };
  }[];
}

/** YouTube: Google OAuth (offline, consent every time), hour-long access tokens, one channel per grant. */
export const youtube: PlatformModule = {
  id: "youtube",
  name: "YouTube",
  endpoints: { ...GOOGLE_OAUTH_ENDPOINTS, apiBaseUrl: "https://www.googleapis.com" },
  // Unverified 2026-12-06: needs a live app (YouTube's scope list was not stored)
  oauth: googleOAuth(["youtube.upload", "youtube.readonly", "yt-analytics.readonly"]),
  needsClientCredentials: true,
  refresh: GOOGLE_REFRESH,

  // Unverified 2026-12-06: needs a live app (channels.list with mine=true; its reference page was not stored)
  async profile(ctx, grant) {
    const list = await googleJson<ChannelList>(
      ctx,
      "/youtube/v3/channels",
      grant.accessToken,
      { part: "snippet", mine: "true" },
      "YouTube channels",
    );
    const channel = list.items?.[0];
    // A Google account without a channel answers 200 with no items: nothing to publish to.
    if (!channel?.id) {
      throw new ProviderError(
        "invalid",
        "This Google account has no YouTube channel: create one on youtube.com, then connect again",
        { code: "no_channel" },
      );
    }
    const snippet = channel.snippet ?? {};
    const thumbnails = snippet.thumbnails ?? {};
    return {
      platformUserId: channel.id,
      username: snippet.customUrl ?? null,
      displayName: snippet.title ?? null,
      avatarUrl: (thumbnails.high ?? thumbnails.medium ?? thumbnails.default)?.url ?? null,
      accountType: "channel",
    };
  },

  async revoke(ctx, grant) {
    await revokeGoogle(ctx, grant);
  },
};
