import { and, eq, isNotNull, isNull, lte } from "drizzle-orm";
import { createDb } from "../db/client";
import { accounts } from "../db/schema";
import { accountEvent, commitWithEvents } from "../features/webhooks/events";
import { DAY } from "../lib/time";
import { metered } from "./budget";

/** account.expiring goes out this long before a token that nothing will refresh expires. */
export const EXPIRING_NOTICE_MS = 7 * DAY;
const BATCH = 100;
/** One account's change and event at worst: the endpoint lookup, the UPDATE, the event, its deliveries. */
const WORST_SUBREQUESTS = 4;

/**
 * Tokens nothing will refresh (no refresh token, or a platform without refresh): one
 * account.expiring when 7 days remain, and at expiry the account becomes expired with one
 * account.error. Each change is written with its event in one batch.
 */
export async function watchExpiry(rawEnv: Env, now: number) {
  const { env, budget } = metered(rawEnv);
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
  let written = 0;
  for (const row of expired) {
    // What the invocation cannot afford now, the next minute's run picks up.
    if (budget.left() < WORST_SUBREQUESTS + 1) break;
    written += 1;
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
  let notified = 0;
  for (const row of expiring) {
    if (budget.left() < WORST_SUBREQUESTS) break;
    notified += 1;
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
  return { expired: written, expiring: notified };
}
