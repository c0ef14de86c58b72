import { ConfigError, currentKeyEntry } from "../../lib/config";
import { randomToken } from "../../lib/crypto";
import type { Platform } from "../../lib/domain";
import { fromBase64, toBase64Url, utf8 } from "../../lib/encoding";
import { DAY, SECOND } from "../../lib/time";

/**
 * Sandbox codes and tokens are self-contained JWTs (HS256) signed with a key derived from
 * TOKEN_ENCRYPTION_KEYS: nothing new to configure and no table. Only what must be remembered (a
 * spent single-use value, a revoked grant) goes to KV under `sandbox:` keys, with TTLs that outlive
 * the value they guard. KV is eventually consistent: good enough for a dev-only provider, not a lock.
 */

/** req: a consent request bound to the page; code; at: access token; rt: refresh token. */
export type TokenKind = "req" | "code" | "at" | "rt";

/** No sandbox grant lives longer than this, however often it is refreshed: reconnect after. */
export const GRANT_LIFETIME_MS = 400 * DAY;

/** Claims of a code, access or refresh token; times in epoch seconds, as in any JWT. */
export interface GrantClaims {
  k: Exclude<TokenKind, "req">;
  p: Platform;
  /** Grant id: revoking any token of a grant revokes all of it. */
  g: string;
  /** Token id, for single-use bookkeeping. */
  j: string;
  /** The sandbox user: username and id. */
  u: string;
  sub: string;
  s: string[];
  iat: number;
  exp: number;
  /** When the grant ends for good (epoch seconds). */
  ge: number;
  /** Code only: the S256 PKCE challenge given at authorization. */
  c?: string;
  /** Code only: the request asked for offline access, so the token endpoint answers a refresh token. */
  o?: 1;
  /** Access token only: a Meta long-lived token (after the exchange). */
  l?: 1;
  /** Code only: the redirect URI asked for, when it is another platform's that signs in here (Instagram through Facebook Login). */
  ru?: string;
  /** Bluesky OAuth: the thumbprint of the DPoP key every token of the grant is bound to. */
  cnf?: string;
}

/** A consent request signed into the consent page, so the decision cannot change what was asked. */
export interface RequestClaims {
  k: "req";
  p: Platform;
  j: string;
  s: string[];
  st?: string;
  c?: string;
  o?: 1;
  /** The redirect URI asked for, when it is another platform's that signs in here. */
  ru?: string;
  /** Bluesky's pushed request: the DPoP key thumbprint, and the account the app asked for. */
  cnf?: string;
  lh?: string;
  iat: number;
  exp: number;
}

export type Claims = GrantClaims | RequestClaims;

const HEADER = toBase64Url(utf8(JSON.stringify({ alg: "HS256", typ: "JWT" })));
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 4096;
const keys = new Map<string, Promise<CryptoKey>>();

/** HMAC key derived (HKDF-SHA-256) from the current TOKEN_ENCRYPTION_KEYS entry, once per isolate. */
function signingKey(env: Env): Promise<CryptoKey> {
  let current: string;
  try {
    current = currentKeyEntry(env);
  } catch (err) {
    return Promise.reject(err);
  }
  let key = keys.get(current);
  if (!key) {
    key = crypto.subtle.importKey("raw", utf8(current), "HKDF", false, ["deriveKey"]).then((material) =>
      crypto.subtle.deriveKey(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: utf8("switchboard-sandbox"),
          info: utf8("sandbox token signing v1"),
        },
        material,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign", "verify"],
      ),
    );
    keys.set(current, key);
  }
  return key;
}

export async function signToken(env: Env, claims: Claims): Promise<string> {
  const body = `${HEADER}.${toBase64Url(utf8(JSON.stringify(claims)))}`;
  const mac = await crypto.subtle.sign("HMAC", await signingKey(env), utf8(body));
  return `${body}.${toBase64Url(new Uint8Array(mac))}`;
}

/** The claims of a token this sandbox signed, of `kind` for `platform`; undefined when forged, foreign or (unless allowed) expired. */
export async function verifyToken<K extends TokenKind>(
  env: Env,
  token: string | null | undefined,
  kind: K,
  platform: Platform,
  now: number,
  options: { allowExpired?: boolean } = {},
): Promise<(K extends "req" ? RequestClaims : GrantClaims) | undefined> {
  if (!token || token.length > MAX_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) return undefined;
  const [header, payload, signature] = token.split(".") as [string, string, string];
  let claims: Claims;
  try {
    const ok = await crypto.subtle.verify(
      "HMAC",
      await signingKey(env),
      fromBase64(signature),
      utf8(`${header}.${payload}`),
    );
    if (!ok) return undefined;
    claims = JSON.parse(new TextDecoder().decode(fromBase64(payload))) as Claims;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    return undefined;
  }
  if (claims.k !== kind || claims.p !== platform) return undefined;
  if (!options.allowExpired && claims.exp * SECOND <= now) return undefined;
  return claims as K extends "req" ? RequestClaims : GrantClaims;
}

export const newTokenId = () => randomToken(12);
export const seconds = (ms: number) => Math.floor(ms / SECOND);

/** KV: a spent single-use value (code, rotating refresh token), by token id. TTL: its remaining life + 60 s. */
export const sandboxUsedKey = (tokenId: string) => `sandbox:used:${tokenId}`;
/** KV: a revoked grant, by grant id. TTL: the grant's remaining life (≤ 400 days) + 60 s. */
export const sandboxRevokedKey = (grantId: string) => `sandbox:revoked:${grantId}`;

/** KV's floor is 60 s; the extra minute covers clock skew between isolates. */
function ttlUntil(expSeconds: number, now: number): number {
  return Math.max(60, expSeconds - seconds(now) + 60);
}

/** Records a single-use value as spent; false when it already was (a replay). */
export async function spend(env: Env, claims: GrantClaims, now: number): Promise<boolean> {
  const key = sandboxUsedKey(claims.j);
  if ((await env.OAUTH_STATE.get(key)) !== null) return false;
  await env.OAUTH_STATE.put(key, "1", { expirationTtl: ttlUntil(claims.exp, now) });
  return true;
}

export async function revokeGrant(env: Env, claims: GrantClaims, now: number): Promise<void> {
  await env.OAUTH_STATE.put(sandboxRevokedKey(claims.g), "1", { expirationTtl: ttlUntil(claims.ge, now) });
}

export async function isRevoked(env: Env, claims: GrantClaims): Promise<boolean> {
  return (await env.OAUTH_STATE.get(sandboxRevokedKey(claims.g))) !== null;
}

/** A live token of the grant: signed here, of this kind and platform, unexpired, grant not revoked. */
export async function liveToken<K extends "at" | "rt">(
  env: Env,
  token: string | null | undefined,
  kind: K,
  platform: Platform,
  now: number,
): Promise<GrantClaims | undefined> {
  const claims = (await verifyToken(env, token, kind, platform, now)) as GrantClaims | undefined;
  if (!claims || (await isRevoked(env, claims))) return undefined;
  return claims;
}
