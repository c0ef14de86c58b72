import { createRoute } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { instagramAudioEnabled } from "../../lib/config";
import { ApiError, ErrorSchema } from "../../lib/errors";
import { type AppEnv, createRouter, errorResponses, json, platformErrorResponses } from "../../lib/router";
import { AccountIdParamsSchema } from "../accounts/accounts.schemas";
import { requireScope } from "../auth/auth.middleware";
import { sendSoon } from "../webhooks/webhooks.service";
import { AudioSearchQuerySchema, AudioSearchResultSchema, PlaylistListSchema } from "./media.schemas";
import { listPlaylists, searchAudio } from "./media.service";

const security = [{ bearer: [] }];

const audioFeature = createMiddleware<AppEnv>(async (c, next) => {
  if (!instagramAudioEnabled(c.env)) {
    throw new ApiError(
      "FEATURE_DISABLED",
      "Instagram audio search is not enabled in this environment (pending Meta App Review)",
    );
  }
  await next();
});

export const listAccountPlaylists = createRoute({
  method: "get",
  path: "/{id}/youtube/playlists",
  tags: ["Accounts"],
  security,
  summary: "List YouTube playlists",
  description:
    "The channel's playlists, to fill a playlist picker. Without the playlist read scope the list is empty with requiresReauth: true (and the account's needsPlaylistReauth is set): reconnect to grant it. A non-YouTube account answers INVALID_PARAM.",
  middleware: [requireScope("accounts:read")],
  request: { params: AccountIdParamsSchema },
  responses: {
    200: json(PlaylistListSchema, "The playlists, or requiresReauth"),
    ...errorResponses,
    ...platformErrorResponses,
  },
});

export const searchAudioTracks = createRoute({
  method: "get",
  path: "/audio/search",
  tags: ["Instagram"],
  security,
  summary: "Search Reels audio",
  description:
    "Trending tracks when q is omitted, else tracks matching q. FEATURE_DISABLED (503) until INSTAGRAM_AUDIO_ENABLED is true. The account must be an Instagram account connected through Facebook Login with a business account selected; a Direct Login account answers 400. GRAPH_API_ERROR (502) carries Meta's message; a Graph rate limit (HTTP 429) answers RATE_LIMITED with Meta's Retry-After.",
  middleware: [requireScope("read:posts"), audioFeature],
  request: { query: AudioSearchQuerySchema },
  responses: {
    200: json(AudioSearchResultSchema, "Matching tracks"),
    ...errorResponses,
    429: platformErrorResponses[429],
    502: json(ErrorSchema, "The Graph API failed (GRAPH_API_ERROR)"),
    503: json(ErrorSchema, "Audio search is disabled here (FEATURE_DISABLED)"),
  },
});

/** Mounted at /v1/accounts. */
export const playlistsRouter = createRouter().openapi(listAccountPlaylists, async (c) => {
  const answer = await listPlaylists(
    c.env,
    c.var.db,
    c.var.auth.workspaceId,
    c.req.valid("param").id,
    Date.now(),
    (ids) => sendSoon(c, ids),
  );
  return c.json(answer, 200);
});

/** Mounted at /v1/instagram. */
export const instagramAudioRouter = createRouter().openapi(searchAudioTracks, async (c) => {
  const tracks = await searchAudio(
    c.env,
    c.var.db,
    c.var.auth.workspaceId,
    c.req.valid("query"),
    Date.now(),
    (ids) => sendSoon(c, ids),
  );
  return c.json({ tracks }, 200);
});
