import type { WireError } from "./wire";

/** An XRPC error: `{error, message}` with its status. */
export const xrpcError = (status: number, error: string, message: string): WireError => ({
  status,
  body: { error, message },
});

/** A PDS's answer to an access token it cannot verify. */
export const blueskyInvalidToken = () => xrpcError(401, "InvalidToken", "Token could not be verified");

/** The email fields createSession answers (refreshSession leaves them out). */
export interface BlueskySessionEmail {
  email: string;
  emailConfirmed: boolean;
  emailAuthFactor: boolean;
}

/** createSession and refreshSession: the session's tokens, with the DID document where the PDS sends it. */
export function blueskySession(s: {
  did: string;
  handle: string;
  accessJwt: string;
  refreshJwt: string;
  didDoc?: unknown;
  email?: BlueskySessionEmail;
}) {
  return {
    did: s.did,
    ...(s.didDoc ? { didDoc: s.didDoc } : {}),
    handle: s.handle,
    ...s.email,
    accessJwt: s.accessJwt,
    refreshJwt: s.refreshJwt,
    active: true,
  };
}

/** com.atproto.server.getSession. */
export const blueskyGetSession = (s: { did: string; handle: string }) => ({
  did: s.did,
  handle: s.handle,
  active: true,
});

/** app.bsky.actor.getProfile: a detailed profile view. */
export function blueskyProfile(p: {
  did: string;
  handle: string;
  displayName: string;
  avatar: string;
  description: string;
  counts: { followers: number; follows: number; posts: number };
  indexedAt: string;
  createdAt: string;
}) {
  return {
    did: p.did,
    handle: p.handle,
    displayName: p.displayName,
    avatar: p.avatar,
    description: p.description,
    followersCount: p.counts.followers,
    followsCount: p.counts.follows,
    postsCount: p.counts.posts,
    indexedAt: p.indexedAt,
    createdAt: p.createdAt,
  };
}
