import { z } from "@hono/zod-openapi";

export const PlaylistSchema = z.object({ id: z.string(), title: z.string() }).openapi("Playlist");

export const PlaylistListSchema = z
  .object({
    playlists: z.array(PlaylistSchema),
    requiresReauth: z.boolean().optional().openapi({
      description:
        "True when the account lacks the playlist read scope: reconnect it to grant youtube.readonly",
    }),
  })
  .openapi("PlaylistList");

const queryInt = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,4}$/, `Must be an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .default(fallback)
    .openapi({ type: "integer", minimum: min, maximum: max, default: fallback });

export const AudioSearchQuerySchema = z.object({
  accountId: z
    .string()
    .min(1, "Required")
    .max(64)
    .openapi({ description: "A connected Instagram account (connected through Facebook Login)" }),
  q: z
    .string()
    .trim()
    .min(1, "Must not be empty")
    .max(100, "At most 100 characters")
    .optional()
    .openapi({ description: "Search term; omit for trending tracks" }),
  limit: queryInt(1, 50, 20),
});

export const AudioTrackSchema = z
  .object({
    id: z.string().openapi({ description: "Use this when attaching audio to a Reel" }),
    title: z.string(),
    artistName: z.string().optional().openapi({ description: "Absent for original audio" }),
    audioUrl: z.string().optional(),
    coverImageUri: z.string().optional(),
    durationMs: z.number().optional(),
  })
  .openapi("AudioTrack");

export const AudioSearchResultSchema = z
  .object({ tracks: z.array(AudioTrackSchema) })
  .openapi("AudioSearchResult");

export type AudioSearchQuery = z.infer<typeof AudioSearchQuerySchema>;
