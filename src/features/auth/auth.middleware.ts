import { createMiddleware } from "hono/factory";
import { sha256Hex } from "../../lib/crypto";
import { ApiError } from "../../lib/errors";
import type { AppEnv, AuthContext } from "../../lib/router";
import { findActiveKeyByHash } from "./auth.repository";

/** How long an isolate trusts a key lookup: the upper bound on revocation delay. */
export const KEY_CACHE_TTL_MS = 30_000;
const KEY_CACHE_MAX = 10_000;
const KEY_PATTERN = /^swb_(live|test)_[A-Za-z0-9_-]{20,128}$/;

interface CachedKey {
  auth: AuthContext;
  keyExpiresAt: number | null;
  cachedUntil: number;
}

/**
 * Keyed by the presented key itself, so a cached key costs no hash (SHA-256 was 8% of a get's CPU).
 * The key is already in this isolate's memory with every request that carries it; it is stored
 * (as its hash) and logged nowhere.
 */
const keyCache = new Map<string, CachedKey>();

/** Drops a key from this isolate's cache (other isolates forget it within KEY_CACHE_TTL_MS). */
export function forgetKey(keyId: string): void {
  for (const [key, entry] of keyCache) if (entry.auth.keyId === keyId) keyCache.delete(key);
}

export async function authenticate(
  db: AppEnv["Variables"]["db"],
  header: string | undefined,
  now: number,
): Promise<AuthContext> {
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  if (!match) throw new ApiError("UNAUTHORIZED", "Missing bearer API key");
  const key = match[1] as string;
  if (!KEY_PATTERN.test(key)) throw new ApiError("UNAUTHORIZED", "Invalid API key");

  let entry = keyCache.get(key);
  if (!entry || entry.cachedUntil <= now) {
    keyCache.delete(key);
    const row = await findActiveKeyByHash(db, await sha256Hex(key));
    if (!row) throw new ApiError("UNAUTHORIZED", "Invalid API key");
    entry = {
      auth: { keyId: row.id, workspaceId: row.workspaceId, userId: row.userId, scopes: row.scopes },
      keyExpiresAt: row.expiresAt,
      cachedUntil: now + KEY_CACHE_TTL_MS,
    };
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
    keyCache.set(key, entry);
  }
  if (entry.keyExpiresAt !== null && entry.keyExpiresAt <= now) {
    throw new ApiError("UNAUTHORIZED", "API key has expired");
  }
  return entry.auth;
}

/** Authenticates the bearer key; routes then name the scope they need in their security (`bearer(scope)`). */
export const apiKeyAuth = createMiddleware<AppEnv>(async (c, next) => {
  c.set("auth", await authenticate(c.var.db, c.req.header("authorization"), Date.now()));
  await next();
});
