import { and, eq, isNotNull, isNull, lte } from "drizzle-orm";
import { createDb } from "../db/client";
import { accounts } from "../db/schema";
import { accountEvent, commitWithEvents } from "../features/webhooks/events";
import { DAY } from "../lib/time";

/** account.expiring goes out this long before a token that nothing will refresh expires. */
export const EXPIRING_NOTICE_MS = 7 * DAY;
const BATCH = 100;

/**
 * Tokens nothing will refresh (no refresh token, or a platform without refresh): one
 * account.expiring when 7 days remain, and at expiry the account becomes expired with one
 * account.error. Each change is written with its event in one batch.
 */
export async function watchExpiry(env: Env, now: number) {
  const db = createDb(env.DB);
  const unrefreshable = and(
    eq(accounts.status, "active"),
    isNull(accounts.nextRefreshAt),
    isNotNull(accounts.tokenExpiresAt),
  );
  const expired = await db
    .select()
    .from(accounts)
    .where(and(unrefreshable, lte(accounts.tokenExpiresAt, now)))
    .limit(BATCH);
  for (const row of expired) {
    const changes = {
      status: "expired" as const,
      lastErrorCode: "token_expired",
      lastErrorMessage:
        "The access token expired and the platform offers no way to refresh it; reconnect the account",
      lastErrorAt: now,
      updatedAt: now,
    };
    await commitWithEvents(
      db,
      [
        db
          .update(accounts)
          .set(changes)
          .where(and(eq(accounts.id, row.id), eq(accounts.status, "active"))),
      ],
      [
        accountEvent(
          "account.error",
          { ...row, ...changes },
          { code: changes.lastErrorCode, message: changes.lastErrorMessage },
        ),
      ],
      now,
    );
  }
  const expiring = await db
    .select()
    .from(accounts)
    .where(
      and(
        unrefreshable,
        isNull(accounts.expiringNotifiedAt),
        lte(accounts.tokenExpiresAt, now + EXPIRING_NOTICE_MS),
      ),
    )
    .limit(BATCH);
  for (const row of expiring) {
    await commitWithEvents(
      db,
      [
        db
          .update(accounts)
          .set({ expiringNotifiedAt: now })
          .where(and(eq(accounts.id, row.id), isNull(accounts.expiringNotifiedAt))),
      ],
      [accountEvent("account.expiring", row)],
      now,
    );
  }
  return { expired: expired.length, expiring: expiring.length };
}
