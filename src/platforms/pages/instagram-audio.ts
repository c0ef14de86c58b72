import { facebookLoginContext } from "../instagram";
import { GRAPH_VERSION, graphJson } from "../meta";
import type { PlatformContext } from "../types";

/**
 * Meta's Instagram Audio API (Instagram API with Facebook Login only):
 * `GET /ig_audio?audio_type=music|original_sound&user_id={ig-user-id}&search_query=…` with a user
 * token; no search_query answers trending audio. Documented on developers.facebook.com
 * (instagram-platform/content-publishing/audio-api), whose sample uses v22.0; the response field
 * names below come from integrators' documentation, not Meta's sample (unconfirmed). Correct them here.
 */
const IG_AUDIO_PATH = `/${GRAPH_VERSION}/ig_audio`;
/** Songs, not other creators' original sounds: what a Reel's audio picker lists first. */
const AUDIO_TYPE = "music";

interface AudioAsset {
  audio_id?: string | number;
  id?: string | number;
  audio_type?: string;
  title?: string;
  display_artist?: string;
  ig_username?: string;
  duration_in_ms?: number;
  cover_artwork_thumbnail_url?: string;
  profile_picture_url?: string;
  download_url?: string;
}

interface AudioList {
  data?: AudioAsset[];
}

export interface AudioTrack {
  id: string;
  title: string;
  artistName?: string;
  audioUrl?: string;
  coverImageUri?: string;
  durationMs?: number;
}

function toTrack(asset: AudioAsset): AudioTrack | null {
  const id = asset.audio_id ?? asset.id;
  if (id === undefined || id === "") return null;
  const artistName = asset.display_artist || asset.ig_username;
  const coverImageUri = asset.cover_artwork_thumbnail_url || asset.profile_picture_url;
  return {
    id: String(id),
    title: asset.title ?? "",
    ...(artistName ? { artistName } : {}),
    ...(asset.download_url ? { audioUrl: asset.download_url } : {}),
    ...(coverImageUri ? { coverImageUri } : {}),
    ...(typeof asset.duration_in_ms === "number" ? { durationMs: asset.duration_in_ms } : {}),
  };
}

/** Trending tracks, or those matching `query`, at most `limit` of them (`ctx` is Instagram's). */
export async function searchInstagramAudio(
  ctx: PlatformContext,
  input: { userToken: string; igUserId: string; query?: string; limit: number },
): Promise<AudioTrack[]> {
  const body = await graphJson<AudioList>(
    facebookLoginContext(ctx),
    IG_AUDIO_PATH,
    {
      token: input.userToken,
      query: {
        audio_type: AUDIO_TYPE,
        user_id: input.igUserId,
        search_query: input.query,
        // Graph edges take limit; whether ig_audio honours it is unconfirmed, so the list is also cut here.
        limit: String(input.limit),
      },
    },
    "Instagram audio search",
  );
  const tracks: AudioTrack[] = [];
  for (const asset of body.data ?? []) {
    const track = toTrack(asset);
    if (track) tracks.push(track);
    if (tracks.length === input.limit) break;
  }
  return tracks;
}
