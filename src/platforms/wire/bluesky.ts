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

/** A DID document (as plc.directory and com.atproto.identity.resolveDid answer it): the PDS and the claimed handle. */
export function blueskyDidDocument(d: { did: string; handle: string | null; pds: string }) {
  return {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
    id: d.did,
    alsoKnownAs: d.handle ? [`at://${d.handle}`] : [],
    service: [{ id: "#atproto_pds", type: "AtprotoPersonalDataServer", serviceEndpoint: d.pds }],
  };
}

/** RFC 9728 protected-resource metadata of a PDS, naming its one authorization server. */
export const protectedResourceMetadata = (resource: string, issuer: string) => ({
  resource,
  authorization_servers: [issuer],
  scopes_supported: [],
  bearer_methods_supported: ["header"],
  resource_documentation: "https://atproto.com",
});

/** RFC 8414 metadata of an AT Protocol authorization server (the fields atproto.com/specs/oauth requires). */
export const authorizationServerMetadata = (issuer: string) => ({
  issuer,
  authorization_endpoint: `${issuer}/authorize`,
  token_endpoint: `${issuer}/token`,
  pushed_authorization_request_endpoint: `${issuer}/par`,
  revocation_endpoint: `${issuer}/revoke`,
  require_pushed_authorization_requests: true,
  response_types_supported: ["code"],
  response_modes_supported: ["query", "fragment", "form_post"],
  grant_types_supported: ["authorization_code", "refresh_token"],
  code_challenge_methods_supported: ["S256"],
  token_endpoint_auth_methods_supported: ["none", "private_key_jwt"],
  token_endpoint_auth_signing_alg_values_supported: ["ES256"],
  scopes_supported: ["atproto", "transition:generic", "transition:chat.bsky"],
  subject_types_supported: ["public"],
  authorization_response_iss_parameter_supported: true,
  client_id_metadata_document_supported: true,
  request_parameter_supported: false,
  request_uri_parameter_supported: true,
  dpop_signing_alg_values_supported: ["ES256"],
});

/** The token endpoint's answer: DPoP-bound tokens and the account's DID as sub. */
export const atprotoTokens = (t: {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  scope: string;
  sub: string;
}) => ({
  access_token: t.accessToken,
  token_type: "DPoP",
  expires_in: t.expiresIn,
  refresh_token: t.refreshToken,
  scope: t.scope,
  sub: t.sub,
});
