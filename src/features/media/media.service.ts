import { ApiError } from "../../lib/errors";
import { providerFailure } from "../../platforms/failure";
import { ProviderError } from "../../platforms/http";
import { isFacebookLogin, selectedIgUserId } from "../../platforms/instagram";
import { facebookUserToken } from "../../platforms/meta";
import { type AudioTrack, searchInstagramAudio } from "../../platforms/pages/instagram-audio";
import { grantsPlaylistRead, listYouTubePlaylists } from "../../platforms/pages/youtube-playlists";
import { findAccount } from "../accounts/accounts.repository";
import { withRefusals } from "../accounts/refusal.service";
import { openSession } from "../accounts/session";
import type { ServiceContext } from "../context";
import { setNeedsPlaylistReauth } from "./media.repository";
import type { AudioSearchQuery } from "./media.schemas";

const notFound = () => new ApiError("NOT_FOUND", "Account not found");
const disconnected = (field: string) =>
  new ApiError("INVALID_PARAM", "The account is disconnected; reconnect it", [
    { field, message: "Disconnected account" },
  ]);

/** Receives the deliveries of an account.error a refused call caused, for their first attempt. */
type Deliver = (deliveryIds: string[]) => void;

export interface PlaylistAnswer {
  playlists: { id: string; title: string }[];
  requiresReauth?: true;
}

/**
 * GET …/youtube/playlists. Without the playlist read scope (known from the grant, or Google's 403
 * insufficientPermissions) the answer is empty with requiresReauth, and the account is flagged.
 */
export async function listPlaylists(
  service: ServiceContext,
  workspaceId: string,
  accountId: string,
  deliver?: Deliver,
): Promise<PlaylistAnswer> {
  const { db, now } = service;
  const row = await findAccount(db, workspaceId, accountId);
  if (!row) throw notFound();
  if (row.platform !== "youtube") {
    throw new ApiError("INVALID_PARAM", "Playlists belong to YouTube accounts; this account is not one", [
      { field: "id", message: `A ${row.platform} account` },
    ]);
  }
  if (row.status === "disconnected" || !row.accessTokenEnc) throw disconnected("id");
  const needsReauth = async (): Promise<PlaylistAnswer> => {
    await setNeedsPlaylistReauth(db, workspaceId, row.id, true, now);
    return { playlists: [], requiresReauth: true };
  };
  // An empty scope list means the grant did not say (bring-your-own token): Google decides.
  if (row.scopes.length > 0 && !grantsPlaylistRead(row.scopes)) return needsReauth();
  const { grant, ctx } = await openSession(service, row);
  let listing: Awaited<ReturnType<typeof listYouTubePlaylists>>;
  try {
    listing = await withRefusals(db, row, now, () => listYouTubePlaylists(ctx, grant.accessToken), deliver);
  } catch (err) {
    throw providerFailure(err);
  }
  if (listing.kind === "insufficient-scope") return needsReauth();
  if (row.needsPlaylistReauth) await setNeedsPlaylistReauth(db, workspaceId, row.id, false, now);
  return { playlists: listing.playlists };
}

/** The reference contract's words for an Instagram account connected without Facebook Login. */
export const DIRECT_LOGIN_MESSAGE =
  "The account does not have a pageAccessToken — it was connected via Direct Login rather than Facebook Login. Reconnect it via Facebook Login.";

/** GET /v1/instagram/audio/search: trending or matching Reels audio for a Facebook-Login Instagram account. */
export async function searchAudio(
  service: ServiceContext,
  workspaceId: string,
  query: AudioSearchQuery,
  deliver?: Deliver,
): Promise<AudioTrack[]> {
  const { db, now } = service;
  const row = await findAccount(db, workspaceId, query.accountId);
  if (!row) throw notFound();
  if (row.platform !== "instagram") {
    throw new ApiError("INVALID_PARAM", "accountId must be an Instagram account", [
      { field: "accountId", message: `A ${row.platform} account` },
    ]);
  }
  if (row.status === "disconnected" || !row.accessTokenEnc) throw disconnected("accountId");
  const { grant, ctx } = await openSession(service, row);
  if (!isFacebookLogin(grant.extras)) {
    throw new ApiError("INVALID_PARAM", DIRECT_LOGIN_MESSAGE, [
      { field: "accountId", message: "Connected via Instagram Direct Login" },
    ]);
  }
  const igUserId = selectedIgUserId(grant.extras);
  if (!igUserId) {
    throw new ApiError(
      "INVALID_PARAM",
      "Select the Instagram business account first: POST /v1/accounts/:id/select-page with its pageId",
      [{ field: "accountId", message: "No Instagram business account selected" }],
    );
  }
  try {
    return await withRefusals(
      db,
      row,
      now,
      () =>
        searchInstagramAudio(ctx, {
          // The Facebook user's token, not a selected Page's (meta.ts, facebookUserToken).
          userToken: facebookUserToken(grant),
          igUserId,
          query: query.q,
          limit: query.limit,
        }),
      deliver,
    );
  } catch (err) {
    // A rate limit is RATE_LIMITED with Meta's Retry-After, as on every other route.
    if (err instanceof ProviderError && err.details.status === 429) throw providerFailure(err);
    if (err instanceof ProviderError) throw new ApiError("GRAPH_API_ERROR", err.message);
    throw err;
  }
}
