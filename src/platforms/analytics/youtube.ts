import { GOOGLE_SCOPE_PREFIX, googleJson } from "../google";
import { ProviderError } from "../http";
import { type AnalyticsFetcher, count, emptyMetrics, parseTime } from "./types";

/** `GET /youtube/v3/channels?part=contentDetails&mine=true`. */
interface ChannelList {
  items?: { id: string; contentDetails?: { relatedPlaylists?: { uploads?: string } } }[];
}

/** `GET /youtube/v3/playlistItems?part=contentDetails`. */
interface PlaylistItems {
  nextPageToken?: string;
  pageInfo?: { totalResults?: number; resultsPerPage?: number };
  items?: { contentDetails?: { videoId?: string; videoPublishedAt?: string } }[];
}

/** `GET /youtube/v3/videos?part=statistics`: counts are strings; likeCount is absent when likes are hidden. */
interface VideoList {
  items?: {
    id: string;
    statistics?: { viewCount?: string; likeCount?: string; favoriteCount?: string; commentCount?: string };
  }[];
}

/** The most playlistItems and videos answer per call. */
const PAGE_SIZE = 50;

/** The uploads playlist and the page token within it, kept together as the job's cursor. */
interface Cursor {
  playlist: string;
  pageToken: string;
}

function readCursor(cursor: string | null): Cursor | null {
  if (!cursor) return null;
  try {
    const value = JSON.parse(cursor) as Partial<Cursor>;
    if (typeof value.playlist === "string" && typeof value.pageToken === "string")
      return { playlist: value.playlist, pageToken: value.pageToken };
  } catch {
    // Fall through: an unreadable cursor starts over, which the idempotent store absorbs.
  }
  return null;
}

const scope = (name: string) => `${GOOGLE_SCOPE_PREFIX}${name}`;

/**
 * YouTube: the channel's uploads playlist, newest first, and each page's videos' statistics (views,
 * likes, comments). Thumbnail impressions are not read: YouTube Analytics' videoThumbnailImpressions
 * cannot be broken down by video (reported in public issue threads; unconfirmed in Google's reference),
 * and its shares metric lives on another host (youtubeanalytics.googleapis.com).
 */
export const youtubeAnalytics: AnalyticsFetcher = {
  platform: "youtube",
  requiredScopes: [[scope("youtube.readonly"), scope("youtube"), scope("youtube.force-ssl")]],

  async fetchPage(ctx, { grant, cursor }) {
    let position = readCursor(cursor);
    if (!position) {
      const channels = await googleJson<ChannelList>(
        ctx,
        "/youtube/v3/channels",
        grant.accessToken,
        { part: "contentDetails", mine: "true" },
        "YouTube channels",
      );
      const uploads = channels.items?.[0]?.contentDetails?.relatedPlaylists?.uploads;
      if (!uploads)
        throw new ProviderError("invalid", "YouTube answered no uploads playlist for this channel");
      position = { playlist: uploads, pageToken: "" };
    }
    const list = await googleJson<PlaylistItems>(
      ctx,
      "/youtube/v3/playlistItems",
      grant.accessToken,
      {
        part: "contentDetails",
        playlistId: position.playlist,
        maxResults: String(PAGE_SIZE),
        pageToken: position.pageToken || undefined,
      },
      "YouTube playlistItems",
    );
    // Private and deleted videos carry no videoPublishedAt: nothing was published to measure.
    const entries = (list.items ?? []).flatMap((item) => {
      const { videoId, videoPublishedAt } = item.contentDetails ?? {};
      return videoId && videoPublishedAt ? [{ videoId, videoPublishedAt }] : [];
    });
    const stats = new Map<string, NonNullable<VideoList["items"]>[number]["statistics"]>();
    if (entries.length) {
      const videos = await googleJson<VideoList>(
        ctx,
        "/youtube/v3/videos",
        grant.accessToken,
        { part: "statistics", id: entries.map((e) => e.videoId).join(","), maxResults: String(PAGE_SIZE) },
        "YouTube videos",
      );
      for (const video of videos.items ?? []) stats.set(video.id, video.statistics);
    }
    const posts = entries.map(({ videoId, videoPublishedAt }) => {
      const s = stats.get(videoId) ?? {};
      return {
        ...emptyMetrics(videoId, parseTime(videoPublishedAt, "YouTube playlistItems")),
        likes: count(s.likeCount),
        comments: count(s.commentCount),
        videoViews: count(s.viewCount),
      };
    });
    return {
      posts,
      nextCursor: list.nextPageToken
        ? JSON.stringify({ playlist: position.playlist, pageToken: list.nextPageToken } satisfies Cursor)
        : null,
      total: count(list.pageInfo?.totalResults),
    };
  },
};
