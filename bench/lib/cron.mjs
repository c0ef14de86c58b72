// The refresh benchmark's accounts: the seed's twitter accounts named cron-00000…, made due now.
import { cronUserId } from "../seed.mjs";

/** Makes the first `due` cron accounts due now (and every other one due tomorrow); answers how many are due. */
export async function resetCronAccounts(db, due, now) {
  const lower = cronUserId(0);
  const upper = cronUserId(99_999);
  const common =
    "refresh_lease_id = NULL, refresh_lease_until = NULL, last_refreshed_at = NULL, refresh_failures = 0, status = 'active', last_error_code = NULL, last_error_message = NULL, last_error_at = NULL";
  await db.batch([
    db
      .prepare(
        `UPDATE accounts SET ${common}, next_refresh_at = ?1, token_expires_at = ?2 WHERE platform = 'twitter' AND platform_user_id BETWEEN ?3 AND ?4`,
      )
      .bind(now + 86_400_000, now + 2 * 86_400_000, lower, upper),
    db
      .prepare(
        "UPDATE accounts SET next_refresh_at = ?1, token_expires_at = ?2 WHERE platform = 'twitter' AND platform_user_id >= ?3 AND platform_user_id < ?4",
      )
      .bind(now - 60_000, now + 4 * 60_000, lower, cronUserId(due)),
  ]);
  const { results } = await db
    .prepare("SELECT count(*) AS n FROM accounts WHERE next_refresh_at <= ?1 AND status <> 'disconnected'")
    .bind(now)
    .all();
  return results[0].n;
}
