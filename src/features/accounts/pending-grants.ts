import type { AccountRow } from "../../db/schema";
import { type SecretBox, sha256Hex } from "../../lib/crypto";
import { PENDING_GRANT_TTL_SECONDS, pendingGrantKey } from "../../lib/kv";
import type { TokenSet } from "../../platforms/types";

/*
 * Once a provider has rotated a grant, the refresh token D1 holds is spent: if the write of the new
 * tokens fails, the grant dies with it. So the write is retried, and at its first failure (or once it
 * hangs) the new tokens are also kept in KV, a store independent of D1, encrypted under the same keys
 * and bound to the account, with the SHA-256 of the refresh token they replace. The next holder of
 * the account's lease, when the lease before it lapsed unreleased, reads that copy first and stores
 * it instead of spending the refresh token D1 holds; the copy is deleted once D1 holds the tokens.
 */

export interface WriteRetry {
  /** Pauses between attempts of the outcome's write: one attempt more than there are pauses. */
  delaysMs: readonly number[];
  /** A write still unanswered after this long is in trouble: the KV copy is made while it goes on. */
  slowMs: number;
}

/** Three attempts within about a third of a second (the lease lasts a minute). */
export const WRITE_RETRY: WriteRetry = { delaysMs: [50, 250], slowMs: 1000 };

interface PendingGrant {
  /** SHA-256 (hex) of the refresh token D1 held when the provider answered: the copy applies only over it. */
  replaces: string;
  tokens: TokenSet;
  /** When the provider answered. */
  at: number;
}

const secretContext = (accountId: string) => ({
  table: "pending_grants",
  rowId: accountId,
  field: "grant",
});

function log(event: string, accountId: string, fields: Record<string, unknown> = {}) {
  console.error(JSON.stringify({ level: "error", event, accountId, ...fields }));
}

const reason = (err: unknown) => (err instanceof Error ? err.message.slice(0, 300) : "unknown");

/**
 * The tokens a failed write left in KV for this account, when the lease before this one lapsed
 * (a released lease means its outcome reached D1) and D1 still holds the refresh token they replace.
 * A KV failure throws: better to back off than to spend a refresh token that may be spent already.
 */
export async function pendingTokens(
  env: Env,
  box: SecretBox,
  row: AccountRow,
  storedRefreshToken: string | null,
): Promise<TokenSet | undefined> {
  if (row.lapsedLeaseUntil === null || !storedRefreshToken) return undefined;
  const sealed = await env.OAUTH_STATE.get(pendingGrantKey(row.id));
  if (sealed === null) return undefined;
  let pending: PendingGrant;
  try {
    pending = JSON.parse(await box.decrypt(sealed, secretContext(row.id)));
  } catch (err) {
    // Unreadable (a key version since dropped): the refresh token D1 holds is all there is.
    log("pending_grant_unreadable", row.id, { message: reason(err) });
    return undefined;
  }
  return pending.replaces === (await sha256Hex(storedRefreshToken)) ? pending.tokens : undefined;
}

/** Deletes the copy a failed write may have left (a disconnect wipes every stored credential). */
export async function forgetPendingGrant(
  env: Env,
  row: Pick<AccountRow, "id" | "lapsedLeaseUntil" | "refreshLeaseUntil">,
) {
  // A copy exists only where a lease was left unreleased.
  if (row.lapsedLeaseUntil === null && row.refreshLeaseUntil === null) return;
  await env.OAUTH_STATE.delete(pendingGrantKey(row.id)).catch((err: unknown) =>
    log("pending_grant_not_deleted", row.id, { message: reason(err) }),
  );
}

/**
 * Writes a refresh's outcome (`write`, fenced by the lease) with bounded retries. When the refresh
 * token rotated (or the tokens came from a KV copy), a failure, a hang or a fenced-out write keeps
 * the tokens in KV before anything else is tried, so the grant survives a D1 that stays down; the
 * copy is deleted once D1 holds them. Still failing after the last attempt, the error goes on.
 */
export async function storeRefreshed<T extends { account: AccountRow }>(
  env: Env,
  box: SecretBox,
  row: AccountRow,
  grant: { spent: string | null; tokens: TokenSet; recovered: boolean },
  now: number,
  write: () => Promise<T>,
  retry: WriteRetry = WRITE_RETRY,
): Promise<T> {
  const key = pendingGrantKey(row.id);
  const { spent, tokens } = grant;
  const atRisk =
    spent !== null && ((!!tokens.refreshToken && tokens.refreshToken !== spent) || grant.recovered);
  // KV only on trouble: a copy made on every rotation would cost a KV write per refresh (1,000 a
  // day on the Free plan) and close no window, since a death before the first write leaves the
  // isolate loses the tokens whichever store comes first.
  let copy: Promise<boolean> | undefined;
  const keep = (): Promise<boolean> => {
    if (!atRisk || spent === null) return Promise.resolve(false);
    copy ??= (async () => {
      const pending: PendingGrant = { replaces: await sha256Hex(spent), tokens, at: now };
      const sealed = await box.encrypt(JSON.stringify(pending), secretContext(row.id));
      await env.OAUTH_STATE.put(key, sealed, { expirationTtl: PENDING_GRANT_TTL_SECONDS });
      return true;
    })().catch((err: unknown) => {
      log("pending_grant_not_kept", row.id, { message: reason(err) });
      copy = undefined; // the next call tries again
      return false;
    });
    return copy;
  };

  let failure: unknown;
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await watched(write(), retry.slowMs, keep);
      // The row as read comes back when the lease fenced the write out (taken over, or released by an
      // attempt that landed unanswered): D1 may not hold the tokens, so the copy stays.
      if (result.account === row) {
        await keep();
        return result;
      }
      if ((copy && (await copy)) || grant.recovered) {
        await env.OAUTH_STATE.delete(key).catch((err: unknown) =>
          log("pending_grant_not_deleted", row.id, { message: reason(err) }),
        );
      }
      return result;
    } catch (err) {
      failure = err;
      await keep();
      const pause = retry.delaysMs[attempt];
      if (pause === undefined) break;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
  const kept = await keep();
  log("refresh_write_failed", row.id, {
    attempts: retry.delaysMs.length + 1,
    grantKept: atRisk ? kept : "not needed",
    message: reason(failure),
  });
  throw failure;
}

/** Awaits `write`, calling `onSlow` (without waiting for it) if it takes longer than `slowMs`. */
async function watched<T>(write: Promise<T>, slowMs: number, onSlow: () => unknown): Promise<T> {
  const timer = setTimeout(() => void onSlow(), slowMs);
  try {
    return await write;
  } finally {
    clearTimeout(timer);
  }
}
