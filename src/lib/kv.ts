/** KV key builders; each key and its TTL is listed in the README. */

/** OAuth state of a pending connect, under the SHA-256 of the state. TTL: OAUTH_STATE_TTL_SECONDS. */
export const oauthStateKey = (stateHash: string) => `oauth:state:${stateHash}`;

export const OAUTH_STATE_TTL_SECONDS = 600;
