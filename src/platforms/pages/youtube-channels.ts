import { googleJson } from "../google";
import type { PlatformContext } from "../types";

/** A YouTube channel the Google account owns (its own, or a brand account's). */
export interface YouTubeChannel {
  id: string;
  title: string;
  /** The channel's handle (`@name`), when it has one. */
  handle: string | null;
  avatarUrl: string | null;
}

interface Thumbnail {
  url?: string;
}

/** `GET /youtube/v3/channels?part=snippet&mine=true` (a youtube#channelListResponse). */
interface ChannelPage {
  nextPageToken?: string;
  items?: {
    id?: string;
    snippet?: {
      title?: string;
      customUrl?: string;
      thumbnails?: { default?: Thumbnail; medium?: Thumbnail; high?: Thumbnail };
    };
  }[];
}

// Checked 2026-12-06: https://developers.google.com/youtube/v3/docs/channels/list (mine filter, maxResults 0 to 50 with 5 by default, pageToken; 1 quota unit a call)
const PAGE_SIZE = 50;
/** 5 pages bound one listing at 250 channels and 5 quota units. */
const MAX_PAGES = 5;

/** The channels `mine=true` lists, each once, in YouTube's order, following nextPageToken. */
export async function listYouTubeChannels(ctx: PlatformContext, token: string): Promise<YouTubeChannel[]> {
  const found = new Map<string, YouTubeChannel>();
  let pageToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = await googleJson<ChannelPage>(
      ctx,
      "/youtube/v3/channels",
      token,
      { part: "snippet", mine: "true", maxResults: String(PAGE_SIZE), pageToken },
      "YouTube channels",
    );
    for (const item of body.items ?? []) {
      if (!item.id || found.has(item.id)) continue;
      const snippet = item.snippet ?? {};
      const thumbnails = snippet.thumbnails ?? {};
      found.set(item.id, {
        id: item.id,
        title: snippet.title || item.id,
        handle: snippet.customUrl || null,
        avatarUrl: (thumbnails.high ?? thumbnails.medium ?? thumbnails.default)?.url || null,
      });
    }
    pageToken = body.nextPageToken || undefined;
    if (!pageToken) break;
  }
  return [...found.values()];
}
