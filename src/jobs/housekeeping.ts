import { and, inArray, lt, notExists, sql } from "drizzle-orm";
import { createDb } from "../db/client";
import { deadLetters, deliveries, events, oauthStateUses } from "../db/schema";
import { DAY } from "../lib/time";

/** Finished deliveries and their events are kept this long for GET …/deliveries and recover. */
export const DELIVERY_RETENTION_MS = 30 * DAY;
const BATCH = 500;

/**
 * Purges what can no longer matter: single-use guards of OAuth states past their expiry (a replay
 * would be refused as expired anyway), finished deliveries past retention, and events left with
 * no delivery, and dead letters past the same retention. Bounded per run.
 */
export async function housekeeping(env: Env, now: number) {
  const db = createDb(env.DB);
  const cutoff = now - DELIVERY_RETENTION_MS;
  const [states, oldDeliveries, oldDeadLetters] = await db.batch([
    db
      .delete(oauthStateUses)
      .where(lt(oauthStateUses.expiresAt, now))
      .returning({ id: oauthStateUses.stateHash }),
    db
      .delete(deliveries)
      .where(
        inArray(
          deliveries.id,
          db
            .select({ id: deliveries.id })
            .from(deliveries)
            .where(and(inArray(deliveries.status, ["succeeded", "failed"]), lt(deliveries.createdAt, cutoff)))
            .limit(BATCH),
        ),
      )
      .returning({ id: deliveries.id }),
    db
      .delete(deadLetters)
      .where(
        inArray(
          deadLetters.id,
          db
            .select({ id: deadLetters.id })
            .from(deadLetters)
            .where(lt(deadLetters.deadAt, cutoff))
            .limit(BATCH),
        ),
      )
      .returning({ id: deadLetters.id }),
  ]);
  const orphans = await db
    .delete(events)
    .where(
      inArray(
        events.id,
        db
          .select({ id: events.id })
          .from(events)
          .where(
            and(
              lt(events.createdAt, cutoff),
              notExists(
                db.select({ one: sql`1` }).from(deliveries).where(sql`${deliveries.eventId} = ${events.id}`),
              ),
            ),
          )
          .limit(BATCH),
      ),
    )
    .returning({ id: events.id });
  return {
    oauthStates: states.length,
    deliveries: oldDeliveries.length,
    events: orphans.length,
    deadLetters: oldDeadLetters.length,
  };
}
