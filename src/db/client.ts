import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";

export type Db = ReturnType<typeof createDb>;

/**
 * Drizzle over D1 or a D1 session (read replicas); a session speaks the same prepare/batch API.
 * No schema is passed: only the query builder is used, and the relational setup would run on every request.
 */
export function createDb(d1: D1Database | D1DatabaseSession) {
  return drizzle(d1 as D1Database);
}

/**
 * Constant values as a one-row SELECT, so an INSERT … SELECT can be made conditional with
 * `.from(sql\`(SELECT 1)\`).where(…)`. Drizzle wants every column, in table order.
 */
export function selectConstants(db: Db, values: Record<string, unknown>) {
  return db.select(
    Object.fromEntries(Object.entries(values).map(([key, value]) => [key, sql`${value}`.as(key)])),
  );
}
