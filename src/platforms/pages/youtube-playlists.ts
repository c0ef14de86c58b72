import { GOOGLE_SCOPE_PREFIX } from "../google";
import { apiUrl, failure, ProviderError } from "../http";
import type { PlatformContext } from "../types";

/** Scopes that let `playlists.list?mine=true` read the channel's playlists. */
export const PLAYLIST_READ_SCOPES: readonly string[] = [
  `${GOOGLE_SCOPE_PREFIX}youtube.readonly`,
  `${GOOGLE_SCOPE_PREFIX}youtube`,
  // force-ssl is the full-access scope for HTTPS-only clients, a superset of youtube.readonly.
  `${GOOGLE_SCOPE_PREFIX}youtube.force-ssl`,
];

/** Whether a granted scope list includes one that reads playlists. */
export function grantsPlaylistRead(scopes: readonly string[]): boolean {
  return scopes.some((scope) => PLAYLIST_READ_SCOPES.includes(scope));
}

/** 50 per page is the API's maximum; 10 pages bound one listing at 500 playlists and 10 quota units. */
const PAGE_SIZE = 50;
export const MAX_PLAYLIST_PAGES = 10;

/** `GET /youtube/v3/playlists` (a youtube#playlistListResponse). */
interface PlaylistList {
  nextPageToken?: string;
  pageInfo?: { totalResults?: number; resultsPerPage?: number };
  items?: { id?: string; snippet?: { title?: string } }[];
}

interface GoogleError {
  error?: {
    status?: string;
    errors?: { reason?: string }[];
    details?: { reason?: string }[];
  };
}

/**
 * Google's answer when the token lacks the scope: HTTP 403 with reason insufficientPermissions (and
 * ErrorInfo ACCESS_TOKEN_SCOPE_INSUFFICIENT), plus `error="insufficient_scope"` in WWW-Authenticate.
 */
async function isInsufficientScope(res: Response): Promise<boolean> {
  if (/insufficient_scope/i.test(res.headers.get("www-authenticate") ?? "")) return true;
  try {
    const body = (await res.clone().json()) as GoogleError;
    const reasons = [...(body.error?.errors ?? []), ...(body.error?.details ?? [])].map((e) => e.reason);
    return reasons.some(
      (reason) => reason === "insufficientPermissions" || reason === "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
    );
  } catch {
    return false;
  }
}

export type PlaylistListing =
  | { kind: "ok"; playlists: { id: string; title: string }[]; truncated: boolean }
  | { kind: "insufficient-scope" };

/** The channel's playlists, following nextPageToken up to MAX_PLAYLIST_PAGES pages. */
export async function listYouTubePlaylists(ctx: PlatformContext, token: string): Promise<PlaylistListing> {
  const playlists: { id: string; title: string }[] = [];
  let pageToken: string | undefined;
  for (let page = 0; page < MAX_PLAYLIST_PAGES; page++) {
    const url = apiUrl(ctx, "/youtube/v3/playlists", {
      part: "snippet",
      mine: "true",
      maxResults: String(PAGE_SIZE),
      pageToken,
    });
    const res = await ctx.fetch(url, {
      headers: { accept: "application/json", authorization: `Bearer ${token}` },
    });
    if (res.status === 403 && (await isInsufficientScope(res))) return { kind: "insufficient-scope" };
    if (!res.ok) throw await failure(res, ctx.now, "YouTube playlists");
    let body: PlaylistList;
    try {
      body = (await res.json()) as PlaylistList;
    } catch {
      throw new ProviderError("invalid", "YouTube playlists answered something other than JSON");
    }
    for (const item of body.items ?? []) {
      if (item.id) playlists.push({ id: item.id, title: item.snippet?.title ?? "" });
    }
    pageToken = body.nextPageToken || undefined;
    if (!pageToken) return { kind: "ok", playlists, truncated: false };
  }
  return { kind: "ok", playlists, truncated: true };
}
