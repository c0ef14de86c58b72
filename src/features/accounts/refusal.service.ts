import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { type AccountRow, accounts } from "../../db/schema";
import { ProviderError } from "../../platforms/http";
import { commitGuardedWithEvents } from "../webhooks/events";
import { changedColumns, noRefreshRunning, refusalChanges, transitionEvent } from "./refresh.service";

/** lastErrorCode of a refusal that carries no platform code (a bare HTTP 401). */
export const ACCESS_REFUSED = "access_refused";

/** Platform codes that mean the token itself is dead, whatever the HTTP status that carried them. */
const DEAD_TOKEN_CODES = new Set([
  "102", // Graph: session expired
  "190", // Graph: invalid or expired access token
  "invalid_token",
  "invalid_grant",
  "access_token_invalid", // TikTok
  // TikTok API for Business, with HTTP 200: token expired (40102), incorrect or revoked (40105); unverified, as in its module.
  "40102",
  "40105",
]);

/**
 * Whether a refusal is of the token rather than of the request: a 401, a dead-token code, or a
 * module's own verdict on the grant (no HTTP status). A 400 or 403 without such a code refuses that
 * one call (a bad parameter, no permission on one page): the caller hears it, the account stays.
 */
export function refusesToken(err: ProviderError): boolean {
  if (err.kind !== "refused") return false;
  const { status, code } = err.details;
  if (code !== undefined && DEAD_TOKEN_CODES.has(String(code))) return true;
  return status === undefined || status === 401;
}

/**
 * A definite refusal of the account's token seen by any call made with it (test, pages, playlists,
 * audio, backfill) takes the refused refresh's path: the same status rule and error columns, and one
 * account.error in the same batch. Anything else changes nothing, and so does a refusal of an
 * account that is not active (already broken: no second event), of a token past its expiry that the
 * cron will renew, or of a token a refresh replaced or is replacing meanwhile (its outcome decides).
 * Answers the event's deliveries, for their first attempt.
 */
export async function recordRefusal(db: Db, row: AccountRow, err: unknown, now: number): Promise<string[]> {
  if (!(err instanceof ProviderError) || !refusesToken(err)) return [];
  if (row.status !== "active") return [];
  const expired = row.tokenExpiresAt !== null && row.tokenExpiresAt <= now;
  if (expired && row.nextRefreshAt !== null) return [];
  const changes = refusalChanges(row, err, ACCESS_REFUSED, now);
  // The row as read is the row written: same status, same token, and no refresh in flight.
  const unchanged = and(
    eq(accounts.id, row.id),
    eq(accounts.status, row.status),
    row.accessTokenEnc === null
      ? isNull(accounts.accessTokenEnc)
      : eq(accounts.accessTokenEnc, row.accessTokenEnc),
    noRefreshRunning(now),
  ) as SQL;
  const { result, deliveryIds } = await commitGuardedWithEvents(
    db,
    sql`EXISTS (SELECT 1 FROM ${accounts} WHERE ${unchanged})`,
    db.update(accounts).set(changedColumns(row, changes)).where(unchanged).returning({ id: accounts.id }),
    transitionEvent(row, changes),
    now,
  );
  return (result as unknown[]).length ? deliveryIds : [];
}

/**
 * Runs a platform call made with the account's token; a refusal is recorded (recordRefusal) before
 * the error goes on. `deliver` receives the event's deliveries for their first attempt.
 */
export async function withRefusals<T>(
  db: Db,
  row: AccountRow,
  now: number,
  call: () => Promise<T>,
  deliver?: (deliveryIds: string[]) => void,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    // Recording is secondary: a storage failure here must not hide the platform's answer.
    const deliveryIds = await recordRefusal(db, row, err, now).catch((failure: unknown) => {
      console.error(
        JSON.stringify({
          level: "error",
          event: "refusal_not_recorded",
          accountId: row.id,
          message: failure instanceof Error ? failure.message.slice(0, 300) : "unknown",
        }),
      );
      return [];
    });
    if (deliveryIds.length) deliver?.(deliveryIds);
    throw err;
  }
}
