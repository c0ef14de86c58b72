import type { Db } from "../../db/client";
import { oauthStateUses } from "../../db/schema";
import type { SecretBox } from "../../lib/crypto";
import { randomToken, sha256Hex } from "../../lib/crypto";
import type { Platform } from "../../lib/domain";
import { OAUTH_STATE_TTL_SECONDS, oauthStateKey } from "../../lib/kv";
import { SECOND } from "../../lib/time";
import { STORAGE_TIMEOUT_MS, storageCall } from "../../lib/timeouts";

export const OAUTH_STATE_TTL_MS = OAUTH_STATE_TTL_SECONDS * SECOND;

/** What a pending connect remembers between the authorization URL and the callback. */
export interface OAuthState {
  workspaceId: string;
  platform: Platform;
  codeVerifier: string;
  callbackUrl: string;
  redirectUri: string;
  pageMode: boolean;
  /** Set for a reconnect: the callback must return this account's platform user. */
  accountId: string | null;
  /** Instance origin for per-instance platforms (Mastodon). */
  instance: string | null;
  /** Set when a hosted connect session started it: only that session's callback may spend it. */
  sessionId?: string | null;
  createdAt: number;
}

const context = (stateHash: string) => ({ table: "oauth_state", rowId: stateHash, field: "payload" });

const STORE = "OAuth state storage";

/**
 * Stores a new state in KV for ten minutes, encrypted (it holds the PKCE verifier); answers the
 * state. KV failing or slower than `timeoutMs` is STORAGE_UNAVAILABLE: the state is never answered
 * unless it was stored, and a put that lands after the timeout is a state nobody holds (it expires).
 */
export async function saveState(
  kv: KVNamespace,
  box: SecretBox,
  state: OAuthState,
  timeoutMs = STORAGE_TIMEOUT_MS,
): Promise<string> {
  const token = randomToken(32);
  const hash = await sha256Hex(token);
  const sealed = await box.encrypt(JSON.stringify(state), context(hash));
  await storageCall(STORE, timeoutMs, () =>
    kv.put(oauthStateKey(hash), sealed, { expirationTtl: OAUTH_STATE_TTL_SECONDS }),
  );
  return token;
}

/**
 * Reads a state without consuming it; undefined when unknown, tampered with, or older than ten
 * minutes. KV failing or slower than `timeoutMs` is STORAGE_UNAVAILABLE, not an unknown state.
 */
export async function readState(
  kv: KVNamespace,
  box: SecretBox,
  token: string,
  now: number,
  timeoutMs = STORAGE_TIMEOUT_MS,
): Promise<{ hash: string; state: OAuthState } | undefined> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
  const hash = await sha256Hex(token);
  const sealed = await storageCall(STORE, timeoutMs, () => kv.get(oauthStateKey(hash)));
  if (!sealed) return undefined;
  let state: OAuthState;
  try {
    state = JSON.parse(await box.decrypt(sealed, context(hash))) as OAuthState;
  } catch {
    return undefined;
  }
  if (now - state.createdAt > OAUTH_STATE_TTL_MS || now < state.createdAt) return undefined;
  return { hash, state };
}

/**
 * Consumes a state exactly once, in D1: a unique insert only one caller can win. KV is eventually
 * consistent, so deleting the KV entry alone would let a replay through elsewhere.
 */
export async function consumeState(db: Db, hash: string, state: OAuthState, now: number): Promise<boolean> {
  const won = await db
    .insert(oauthStateUses)
    .values({
      stateHash: hash,
      workspaceId: state.workspaceId,
      consumedAt: now,
      expiresAt: state.createdAt + OAUTH_STATE_TTL_MS,
    })
    .onConflictDoNothing()
    .returning({ hash: oauthStateUses.stateHash });
  return won.length === 1;
}
