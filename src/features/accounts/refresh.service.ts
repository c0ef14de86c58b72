import { and, asc, eq, inArray, isNull, like, lte, ne, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import type { BatchRunner } from "../../db/coalesce";
import { type AccountRow, accounts } from "../../db/schema";
import { getSecretBox } from "../../lib/config";
import type { AccountStatus } from "../../lib/domain";
import { newLeaseId, QUEUE_LEASE_MS, QUEUED_LEASE_PATTERN } from "../../lib/leases";
import { iso, MINUTE, SECOND } from "../../lib/time";
import { getModule } from "../../platforms/catalogue";
import { ProviderError } from "../../platforms/http";
import { refreshGrant } from "../../platforms/oauth";
import { nextRefreshAt } from "../../platforms/schedule";
import { type Grant, grantVariant, refreshModelOf, type TokenSet } from "../../platforms/types";
import { grantInstance, resolveContext } from "../connect/platform-apps";
import type { ServiceContext } from "../context";
import { accountEvent, commitGuardedWithEvents, type PendingEvent } from "../webhooks/events";
import { openGrant, sealAccountSecrets } from "./accounts.repository";
import { pendingTokens, storeRefreshed, type WriteRetry } from "./pending-grants";

/** Longer than any one refresh can take (each provider call times out well before). */
export const REFRESH_LEASE_MS = 60 * SECOND;
const BACKOFF_BASE_MS = MINUTE;
const BACKOFF_MAX_MS = 30 * MINUTE;

/** What a refresh came to; deliveryIds are its event's deliveries, for their first attempt. */
export type RefreshOutcome = { account: AccountRow; deliveryIds?: string[] } & (
  | { kind: "refreshed" }
  /** Someone else refreshed after this caller asked: its result stands, no refresh token spent. */
  | { kind: "already-refreshed" }
  | { kind: "not-refreshable"; reason: string }
  | { kind: "refused"; error: ProviderError }
  | { kind: "transient"; error: ProviderError }
);

const leaseFree = (now: number) =>
  or(isNull(accounts.refreshLeaseUntil), lte(accounts.refreshLeaseUntil, now));
const queuedLease = like(accounts.refreshLeaseId, QUEUED_LEASE_PATTERN);

/** No refresh is running: the lease is free, lapsed, or only a place in the queue (src/lib/leases.ts). */
export const noRefreshRunning = (now: number) => or(leaseFree(now), queuedLease) as SQL;

/**
 * What taking a lease sets. A lapsed term of a refresh is kept in lapsedLeaseUntil (until a refresh
 * stores new tokens): its holder may have fetched tokens it never stored (pending-grants.ts). A
 * queued lease fetched nothing, so taking it over keeps lapsedLeaseUntil as it was.
 */
const leaseColumns = (leaseId: string, now: number, termMs = REFRESH_LEASE_MS) => ({
  refreshLeaseId: leaseId,
  refreshLeaseUntil: now + termMs,
  lapsedLeaseUntil: sql<
    number | null
  >`CASE WHEN ${queuedLease} THEN ${accounts.lapsedLeaseUntil} ELSE coalesce(${accounts.refreshLeaseUntil}, ${accounts.lapsedLeaseUntil}) END`,
});

/**
 * Takes the account's refresh lease with one conditional statement: only one caller, cron, queue
 * consumer or API, can hold it at a time. Answers the freshly read row, or undefined when someone
 * else holds it.
 */
export async function takeRefreshLease(
  db: Db,
  accountId: string,
  leaseId: string,
  now: number,
): Promise<AccountRow | undefined> {
  const [row] = await db
    .update(accounts)
    .set(leaseColumns(leaseId, now))
    .where(and(eq(accounts.id, accountId), ne(accounts.status, "disconnected"), noRefreshRunning(now)))
    .returning();
  return row;
}

/**
 * Takes the leases of the queued accounts that are still due (one statement): a message for an
 * account refreshed, disconnected, deleted or held by someone else since it was sent takes
 * nothing. Answers the rows taken, freshly read.
 */
export function takeQueuedAccounts(db: Db, ids: string[], leaseId: string, now: number) {
  return db
    .update(accounts)
    .set(leaseColumns(leaseId, now))
    .where(
      and(
        inArray(accounts.id, ids),
        ne(accounts.status, "disconnected"),
        lte(accounts.nextRefreshAt, now),
        noRefreshRunning(now),
      ),
    )
    .returning();
}

/**
 * Claims due accounts with one atomic UPDATE … RETURNING (so overlapping runs and POST …/refresh
 * never hold the same account), oldest due first so none starves, under this run's lease. A queued
 * claim holds them for QUEUE_LEASE_MS and answers only their ids.
 */
function claimDue(db: Db, leaseId: string, now: number, limit: number, termMs: number) {
  const due = db
    .select({ id: accounts.id })
    .from(accounts)
    .where(and(lte(accounts.nextRefreshAt, now), ne(accounts.status, "disconnected"), leaseFree(now)))
    .orderBy(asc(accounts.nextRefreshAt))
    .limit(limit);
  return db
    .update(accounts)
    .set(leaseColumns(leaseId, now, termMs))
    .where(and(inArray(accounts.id, due), leaseFree(now)));
}

export const claimDueAccounts = (db: Db, leaseId: string, now: number, limit: number) =>
  claimDue(db, leaseId, now, limit, REFRESH_LEASE_MS).returning();

export const claimDueForQueue = (db: Db, leaseId: string, now: number, limit: number) =>
  claimDue(db, leaseId, now, limit, QUEUE_LEASE_MS).returning({ id: accounts.id });

/** Hands unreached accounts back at once rather than when their lease lapses (one statement). */
export function releaseLeases(db: Db, ids: string[], leaseId: string) {
  return db
    .update(accounts)
    .set({ refreshLeaseId: null, refreshLeaseUntil: null })
    .where(and(inArray(accounts.id, ids), eq(accounts.refreshLeaseId, leaseId)));
}

/** Hands back every due account a claim's lease holds (one statement, through the due index). */
export function releaseLease(db: Db, leaseId: string, now: number) {
  return db
    .update(accounts)
    .set({ refreshLeaseId: null, refreshLeaseUntil: null })
    .where(and(lte(accounts.nextRefreshAt, now), eq(accounts.refreshLeaseId, leaseId)));
}

export { newLeaseId };

export interface RefreshOptions {
  /** How the outcome's batch reaches D1; the cron coalesces the writes of its lanes. */
  batch?: BatchRunner;
  /** Retries of the new tokens' write (pending-grants.ts). */
  writeRetry?: WriteRetry;
  /** Per-call bound of the platform requests (default PROVIDER_TIMEOUT_MS). */
  providerTimeoutMs?: number;
}

const BROKEN: AccountStatus[] = ["error", "expired"];

/** The event a status change owes the customer: one account.error per breakage, one account.recovered per recovery. */
export function transitionEvent(row: AccountRow, changes: Partial<AccountRow>): PendingEvent[] {
  const next = changes.status ?? row.status;
  const after = { ...row, ...changes };
  if (BROKEN.includes(next) && !BROKEN.includes(row.status)) {
    return [
      accountEvent("account.error", after, {
        code: after.lastErrorCode ?? "error",
        message: after.lastErrorMessage ?? "",
      }),
    ];
  }
  if (next === "active" && BROKEN.includes(row.status)) return [accountEvent("account.recovered", after)];
  return [];
}

/**
 * What a definite refusal (revoked grant, invalid_grant, HTTP 401) makes of an account, wherever
 * it was seen: `expired` only when its token is past its expiry, `error` otherwise.
 */
export function refusalChanges(
  row: AccountRow,
  err: ProviderError,
  fallbackCode: string,
  now: number,
): Partial<AccountRow> {
  const expired = row.tokenExpiresAt !== null && row.tokenExpiresAt <= now;
  return {
    status: expired ? "expired" : "error",
    lastErrorCode: err.details.code ?? fallbackCode,
    lastErrorMessage: err.message,
    lastErrorAt: now,
    updatedAt: now,
  };
}

/**
 * The changes that differ from the row as read. D1 counts (and bills) a write to every index whose
 * columns an UPDATE assigns, even to the value already there: a refresh that re-set its unchanged
 * status, key version and error columns wrote 5 rows where 3 do. The row as read is still the row
 * at write time: every other writer of these columns holds the lease or clears it (a reconnect,
 * a disconnect), and a cleared lease fences the write.
 */
export function changedColumns(row: AccountRow, changes: Partial<AccountRow>): Partial<AccountRow> {
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(changes)) {
    const current = row[key as keyof AccountRow];
    const same =
      value !== null && typeof value === "object"
        ? JSON.stringify(value) === JSON.stringify(current)
        : value === current;
    if (!same) changed[key] = value;
  }
  return changed;
}

/**
 * Writes the outcome and releases the lease only if this caller still holds it (fencing), with the
 * transition's event in the same batch and under the same condition.
 */
async function writeOutcome(
  db: Db,
  row: AccountRow,
  leaseId: string,
  changes: Partial<AccountRow>,
  now: number,
  batch?: BatchRunner,
) {
  const held = and(eq(accounts.id, row.id), eq(accounts.refreshLeaseId, leaseId)) as SQL;
  const { result, deliveryIds } = await commitGuardedWithEvents(
    db,
    sql`EXISTS (SELECT 1 FROM ${accounts} WHERE ${held})`,
    db
      .update(accounts)
      .set({ ...changedColumns(row, changes), refreshLeaseId: null, refreshLeaseUntil: null })
      .where(held)
      .returning(),
    transitionEvent(row, changes),
    now,
    batch,
  );
  const [updated] = result as AccountRow[];
  return { account: updated ?? row, deliveryIds: updated ? deliveryIds : [] };
}

/** Exponential backoff from one minute to half an hour, honouring Retry-After, and never past the token's last useful minute. */
export function backoffUntil(
  failures: number,
  now: number,
  expiresAt: number | null,
  retryAfterMs?: number,
): number {
  const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
  let at = now + Math.max(backoff, retryAfterMs ?? 0);
  if (expiresAt !== null && expiresAt > now && retryAfterMs === undefined)
    at = Math.min(at, Math.max(now + 30 * SECOND, expiresAt - MINUTE));
  return at;
}

/** The lease a caller holds, and when it decided to refresh. */
export interface HeldLease {
  leaseId: string;
  requestedAt: number;
}

/**
 * Refreshes an account whose lease this caller holds, through the platform's refresh model, and
 * releases the lease. `requestedAt` is when the caller decided to refresh: if the row shows a
 * refresh since then, that result is answered instead of spending the refresh token again.
 */
export async function refreshLeased(
  { env, db, now }: ServiceContext,
  row: AccountRow,
  { leaseId, requestedAt }: HeldLease,
  options: RefreshOptions = {},
): Promise<RefreshOutcome> {
  const finish = (row: AccountRow, changes: Partial<AccountRow>) =>
    writeOutcome(db, row, leaseId, changes, now, options.batch);
  if (row.lastRefreshedAt !== null && row.lastRefreshedAt >= requestedAt) {
    return { kind: "already-refreshed", ...(await finish(row, {})) };
  }
  const module = getModule(row.platform);
  const box = await getSecretBox(env);
  // Decrypted at most once, and only when needed.
  let opened: Grant | undefined;
  const grant = async () => {
    opened ??= await openGrant(box, row);
    return opened;
  };
  // A login variant (Instagram through Facebook Login) may refresh differently from its platform.
  const model =
    module.variants && row.extrasEnc ? refreshModelOf(module, (await grant()).extras) : module.refresh;
  const expired = row.tokenExpiresAt !== null && row.tokenExpiresAt <= now;
  const notRefreshable = async (reason: string) => ({
    kind: "not-refreshable" as const,
    ...(await finish(row, {})),
    reason,
  });

  if (model.kind === "none") {
    return notRefreshable(
      row.tokenExpiresAt === null
        ? `${module.name} tokens are not refreshed; they last until revoked`
        : `${module.name} tokens are not refreshed: reconnect the account before ${iso(row.tokenExpiresAt)}`,
    );
  }
  if (!row.accessTokenEnc) return notRefreshable("The account holds no credentials");
  if (
    model.kind === "extend-in-place" &&
    !expired &&
    row.tokenIssuedAt !== null &&
    now - row.tokenIssuedAt < model.minAgeMs
  ) {
    return notRefreshable(`${module.name} tokens can be extended once they are 24 hours old`);
  }
  if (model.kind !== "extend-in-place" && !row.refreshTokenEnc) {
    return notRefreshable("The platform gave no refresh token; reconnect before the token expires");
  }

  const secrets = await grant();
  let tokens: TokenSet;
  let recovered: TokenSet | undefined;
  try {
    if (model.kind === "extend-in-place" && expired) {
      throw new ProviderError("refused", `${module.name} tokens cannot be extended once expired`, {
        code: "token_expired",
      });
    }
    // Tokens a failed write left behind are stored, not fetched again with a spent refresh token.
    recovered = await pendingTokens(env, box, row, secrets.refreshToken);
    tokens =
      recovered ??
      (await refreshGrant(
        await resolveContext(env, db, row.platform, now, grantInstance(secrets), {
          timeoutMs: options.providerTimeoutMs,
          variant: grantVariant(module, secrets.extras),
        }),
        module,
        secrets,
      ));
  } catch (err) {
    if (!(err instanceof ProviderError)) {
      // Our own failure (configuration, storage): back off so the account does not hog every run.
      const failures = row.refreshFailures + 1;
      await finish(row, {
        refreshFailures: failures,
        nextRefreshAt: backoffUntil(failures, now, row.tokenExpiresAt),
        updatedAt: now,
      });
      throw err;
    }
    if (err.kind === "transient") {
      const failures = row.refreshFailures + 1;
      const done = await finish(row, {
        refreshFailures: failures,
        nextRefreshAt: backoffUntil(failures, now, row.tokenExpiresAt, err.details.retryAfterMs),
        ...(expired
          ? {
              status: "expired" as const,
              lastErrorCode: "token_expired",
              lastErrorMessage: err.message,
              lastErrorAt: now,
            }
          : {}),
        updatedAt: now,
      });
      return { kind: "transient", ...done, error: err };
    }
    const done = await finish(row, {
      ...refusalChanges(row, err, "refresh_refused", now),
      refreshFailures: row.refreshFailures + 1,
      nextRefreshAt: null,
      updatedAt: now,
    });
    return { kind: "refused", ...done, error: err };
  }

  // A platform that returns no new refresh token keeps the old one valid.
  const refreshToken = tokens.refreshToken || secrets.refreshToken;
  const sealed = await sealAccountSecrets(box, row.id, {
    accessToken: tokens.accessToken,
    refreshToken,
    extras: { ...secrets.extras, ...tokens.extras },
  });
  const stored = { spent: secrets.refreshToken, tokens, recovered: recovered !== undefined };
  const changes: Partial<AccountRow> = {
    ...sealed,
    ...(tokens.scopes ? { scopes: tokens.scopes } : {}),
    tokenExpiresAt: tokens.expiresAt,
    refreshTokenExpiresAt: tokens.refreshToken
      ? (tokens.refreshTokenExpiresAt ?? null)
      : row.refreshTokenExpiresAt,
    tokenIssuedAt: now,
    lastRefreshedAt: now,
    refreshFailures: 0,
    nextRefreshAt: nextRefreshAt(model, {
      expiresAt: tokens.expiresAt,
      issuedAt: now,
      hasRefreshToken: Boolean(refreshToken),
    }),
    status: "active",
    lastErrorCode: null,
    lastErrorMessage: null,
    lastErrorAt: null,
    expiringNotifiedAt: null,
    lapsedLeaseUntil: null,
    updatedAt: now,
  };
  const done = await storeRefreshed(
    env,
    box,
    row,
    stored,
    now,
    () => finish(row, changes),
    options.writeRetry,
  );
  return { kind: "refreshed", ...done };
}
