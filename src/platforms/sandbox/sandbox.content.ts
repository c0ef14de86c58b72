import { randomToken } from "../../lib/crypto";
import type { Platform } from "../../lib/domain";
import { youtubeList, youtubeUploadsPlaylist } from "../wire/google";
import { json } from "./sandbox.service";
import { type GrantClaims, liveToken } from "./sandbox.tokens";

// What a sandbox account has published, read by backfills, playlists and audio search: a new
// sandbox user has no posts yet, so every listing answers empty in the platform's own shape.

interface ContentCall {
  env: Env;
  platform: Platform;
  method: string;
  path: string;
  query: URLSearchParams;
  now: number;
  token: string | null;
}

const VERSION = /^\/v\d+(?:\.\d+)?(?=\/)/;
const emptyGraphPage = () => ({ data: [], paging: {} });

/** The owner of a sandbox Page token (`<user>-page-<n>`) or user token. */
const ownerOf = (sub: string) => sub.replace(/-page-\d$/, "");

/** Sandbox audio for Instagram's audio search: a few tracks, matched by title when a query is given. */
const TRACKS = [
  { audio_id: "900001", title: "Summer Sandbox", display_artist: "The Fixtures", duration_in_ms: 31_000 },
  { audio_id: "900002", title: "Local Loop", display_artist: "Dev Server", duration_in_ms: 27_500 },
  { audio_id: "900003", title: "Green Checks", display_artist: "CI Choir", duration_in_ms: 45_000 },
];

async function answer(call: ContentCall, user: GrantClaims): Promise<Response | undefined> {
  const path = call.path.replace(VERSION, "");
  const get = call.method === "GET";
  switch (call.platform) {
    case "twitter":
      if (get && call.path === `/2/users/${user.sub}/tweets`) return json({ meta: { result_count: 0 } });
      return undefined;
    case "linkedin":
      if (get && call.path === "/rest/posts")
        return json({
          elements: [],
          paging: { start: Number(call.query.get("start")) || 0, count: 0, total: 0, links: [] },
        });
      return undefined;
    case "youtube": {
      const etag = randomToken(12);
      if (get && call.path === "/youtube/v3/playlistItems") {
        if (call.query.get("playlistId") !== youtubeUploadsPlaylist(user.sub)) return undefined;
        return json(youtubeList("youtube#playlistItemListResponse", [], etag));
      }
      if (get && call.path === "/youtube/v3/playlists")
        return json(youtubeList("youtube#playlistListResponse", [], etag));
      if (get && call.path === "/youtube/v3/videos")
        return json(youtubeList("youtube#videoListResponse", [], etag));
      return undefined;
    }
    case "pinterest":
      if (get && call.path === "/v5/pins") return json({ items: [], bookmark: null });
      return undefined;
    case "facebook": {
      const owner = ownerOf(user.sub);
      const page = /^\/([^/]+)(\/posts)?$/.exec(path);
      if (!get || !page?.[1]?.startsWith(`${owner}-page-`)) return undefined;
      // The user's token stands in for the Page's own: the sandbox binds no token to one Page.
      if (!page[2]) return json({ id: page[1], access_token: call.token });
      return json(emptyGraphPage());
    }
    case "instagram": {
      const owner = ownerOf(user.sub);
      const media = /^\/([^/]+)\/media$/.exec(path)?.[1];
      if (get && media && (media === user.sub || media === `${owner}-ig-1`)) return json(emptyGraphPage());
      if (get && path === "/ig_audio" && user.p === "facebook") {
        const q = call.query.get("search_query")?.toLowerCase();
        const tracks = q ? TRACKS.filter((t) => t.title.toLowerCase().includes(q)) : TRACKS;
        return json({
          data: tracks.map((t) => ({ ...t, audio_type: call.query.get("audio_type") ?? "music" })),
        });
      }
      return undefined;
    }
    case "threads":
      if (get && path === "/me/threads") return json(emptyGraphPage());
      return undefined;
    case "tiktok":
      if (call.method === "POST" && call.path === "/v2/video/list/")
        return json({
          data: { videos: [], cursor: 0, has_more: false },
          error: { code: "ok", message: "", log_id: randomToken(12) },
        });
      return undefined;
    case "bluesky": {
      if (!get || call.path !== "/xrpc/app.bsky.feed.getAuthorFeed") return undefined;
      const actor = call.query.get("actor")?.replace(/^@/, "").toLowerCase();
      if (actor !== user.sub && actor !== user.u) return undefined;
      return json({ feed: [] });
    }
    default:
      return undefined;
  }
}

/**
 * The content calls of a platform's API, for a live sandbox token; undefined for any other call (or
 * token), which the platform's own handler then refuses as it would.
 */
export async function handleContent(
  env: Env,
  platform: Platform,
  request: Request,
  path: string,
  now: number,
): Promise<Response | undefined> {
  const url = new URL(request.url);
  const authorization = request.headers.get("authorization");
  const token =
    authorization && /^bearer /i.test(authorization)
      ? authorization.slice(7).trim()
      : url.searchParams.get("access_token");
  // Instagram through Facebook Login calls Instagram's API with a Facebook token.
  const user =
    (await liveToken(env, token, "at", platform, now)) ??
    (platform === "instagram" ? await liveToken(env, token, "at", "facebook", now) : undefined);
  if (!user) return undefined;
  return answer({ env, platform, method: request.method, path, query: url.searchParams, now, token }, user);
}
