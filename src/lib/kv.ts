/** KV key builders; each key and its TTL is listed in the README. */

/** OAuth state of a pending connect, under the SHA-256 of the state. TTL: OAUTH_STATE_TTL_SECONDS. */
export const oauthStateKey = (stateHash: string) => `oauth:state:${stateHash}`;

export const OAUTH_STATE_TTL_SECONDS = 600;

/** A refreshed grant whose D1 write failed, until D1 holds it (pending-grants.ts). TTL: PENDING_GRANT_TTL_SECONDS. */
export const pendingGrantKey = (accountId: string) => `refresh:pending:${accountId}`;

/** Long enough to outlast a D1 outage; the next refresh after a lapsed lease reads it within minutes. */
export const PENDING_GRANT_TTL_SECONDS = 7 * 24 * 60 * 60;
