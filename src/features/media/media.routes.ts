import { createRoute } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { instagramAudioEnabled } from "../../lib/config";
import { ApiError } from "../../lib/errors";
import {
  type AppEnv,
  bearer,
  createRouter,
  errorResponse,
  errorResponses,
  json,
  platformErrorResponses,
} from "../../lib/router";
import { AccountIdParamsSchema } from "../accounts/accounts.schemas";
import { serviceOf } from "../context";
import { sendSoon } from "../webhooks/webhooks.service";
import { AudioSearchQuerySchema, AudioSearchResultSchema, PlaylistListSchema } from "./media.schemas";
import { listPlaylists, searchAudio } from "./media.service";

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
  operationId: "listAccountPlaylists",
  method: "get",
  path: "/{id}/youtube/playlists",
  tags: ["Accounts"],
  security: bearer("accounts:read"),
  summary: "List YouTube playlists",
  description:
    "The channel's playlists, to fill a playlist picker. Without the playlist read scope the list is empty with requiresReauth: true (and the account's needsPlaylistReauth is set): reconnect to grant it. A non-YouTube account answers INVALID_PARAM.",
  request: { params: AccountIdParamsSchema },
  responses: {
    200: json(PlaylistListSchema, "The playlists, or requiresReauth"),
    ...errorResponses,
    ...platformErrorResponses,
  },
});

export const searchAudioTracks = createRoute({
  operationId: "searchAudioTracks",
  method: "get",
  path: "/audio/search",
  tags: ["Instagram"],
  security: bearer("read:posts"),
  summary: "Search Reels audio",
  description:
    "Trending tracks when q is omitted, else tracks matching q. FEATURE_DISABLED (503) until INSTAGRAM_AUDIO_ENABLED is true. The account must be an Instagram account connected through Facebook Login with a business account selected; a Direct Login account answers 400. GRAPH_API_ERROR (502) carries Meta's message; a Graph rate limit (HTTP 429) answers RATE_LIMITED with Meta's Retry-After.",
  middleware: [audioFeature],
  request: { query: AudioSearchQuerySchema },
  responses: {
    200: json(AudioSearchResultSchema, "Matching tracks"),
    ...errorResponses,
    429: platformErrorResponses[429],
    502: errorResponse(502, {
      description: "Meta's Graph API failed or refused (GRAPH_API_ERROR), with Meta's message",
      code: "GRAPH_API_ERROR",
      message: "Invalid OAuth access token - Cannot parse access token",
    }),
    503: errorResponse(503, {
      description: "Audio search is not enabled in this deployment (FEATURE_DISABLED)",
      message: "Instagram audio search is not enabled in this environment (pending Meta App Review)",
    }),
  },
});

/** Mounted at /v1/accounts. */
export const playlistsRouter = createRouter().openapi(listAccountPlaylists, async (c) => {
  const answer = await listPlaylists(serviceOf(c), c.var.auth.workspaceId, c.req.valid("param").id, (ids) =>
    sendSoon(c, ids),
  );
  return c.json(answer, 200);
});

/** Mounted at /v1/instagram. */
export const instagramAudioRouter = createRouter().openapi(searchAudioTracks, async (c) => {
  const tracks = await searchAudio(serviceOf(c), c.var.auth.workspaceId, c.req.valid("query"), (ids) =>
    sendSoon(c, ids),
  );
  return c.json({ tracks }, 200);
});
