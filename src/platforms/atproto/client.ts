import { blueskyOAuthKeys, currentKeyEntry, getConfig } from "../../lib/config";
import type { KeySource } from "./keys";

/** Where the client metadata document is served: its URL is the client_id. */
export const CLIENT_METADATA_PATH = "/v1/oauth/bluesky/client-metadata.json";
export const JWKS_PATH = "/v1/oauth/bluesky/jwks.json";

/** What AT Protocol OAuth asks of every grant: the atproto scope, and the app-password-equivalent one. */
export const ATPROTO_SCOPE = "atproto transition:generic";

/** The deployment's AT Protocol OAuth client (a confidential one: private_key_jwt). */
export interface AtprotoClient {
  clientId: string;
  jwksUri: string;
  redirectUri: string;
  clientName: string;
  clientUri: string;
  /** Absent in staging and production until BLUESKY_OAUTH_KEYS is set. */
  keys?: KeySource;
}

/** The client as this deployment publishes it; development and tests sign with a key derived from TOKEN_ENCRYPTION_KEYS. */
export function atprotoClient(env: Env): AtprotoClient {
  const config = getConfig(env);
  const secret = blueskyOAuthKeys(env);
  const derive = config.environment === "development" || config.environment === "test";
  return {
    clientId: `${config.publicUrl}${CLIENT_METADATA_PATH}`,
    jwksUri: `${config.publicUrl}${JWKS_PATH}`,
    redirectUri: `${config.publicUrl}/v1/oauth/redirect/bluesky`,
    clientName: "Switchboard",
    clientUri: config.publicUrl,
    keys: secret ? { secret } : derive ? { seed: currentKeyEntry(env) } : undefined,
  };
}

/** The client metadata document (atproto.com/specs/oauth, "Client ID Metadata Document"; checked 2026-12-06). */
export function clientMetadata(client: AtprotoClient) {
  return {
    client_id: client.clientId,
    client_name: client.clientName,
    client_uri: client.clientUri,
    application_type: "web" as const,
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    scope: ATPROTO_SCOPE,
    redirect_uris: [client.redirectUri],
    dpop_bound_access_tokens: true as const,
    token_endpoint_auth_method: "private_key_jwt" as const,
    token_endpoint_auth_signing_alg: "ES256" as const,
    jwks_uri: client.jwksUri,
  };
}
