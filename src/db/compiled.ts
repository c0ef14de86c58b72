import { fillPlaceholders } from "drizzle-orm";
import { QueryBuilder, type SQLiteColumn, type SQLiteSelectBuilder } from "drizzle-orm/sqlite-core";
import type { Db } from "./client";

type Columns = Record<string, SQLiteColumn>;

interface BuiltSelect {
  toSQL(): { sql: string; params: unknown[] };
  readonly _: { readonly result: unknown[] };
}

export interface CompiledSelect<Row> {
  readonly sql: string;
  /** Runs the statement on the request's D1 session with the placeholders filled from `values`. */
  all(db: Db, values: Record<string, unknown>): Promise<Row[]>;
}

/**
 * A SELECT that drizzle builds once, with `sql.placeholder(…)` for every value, run on D1 as raw
 * rows and decoded by each selected column's own mapping. The SQL is drizzle's; what it saves on a
 * hot read is what drizzle otherwise repeats per request: building the statement and mapping rows
 * through its generic path walker (together a third of the accounts list's CPU time, profiled by
 * `bench/profile.mjs`). Only plain columns may be selected, so row i's value j is column j.
 */
export function compileSelect<C extends Columns, Q extends BuiltSelect>(
  columns: C,
  build: (select: SQLiteSelectBuilder<C, "sync", void, "qb">) => Q,
): CompiledSelect<Q["_"]["result"][number]> {
  const { sql, params } = build(new QueryBuilder().select(columns)).toSQL();
  const keys = Object.keys(columns);
  const decoders = keys.map((key) => columns[key] as SQLiteColumn);
  return {
    sql,
    async all(db, values) {
      const rows = await db.$client
        .prepare(sql)
        .bind(...fillPlaceholders(params, values))
        .raw();
      return rows.map((row) => {
        const out: Record<string, unknown> = {};
        for (let i = 0; i < keys.length; i++) {
          const value = row[i];
          out[keys[i] as string] =
            value === null ? null : (decoders[i] as SQLiteColumn).mapFromDriverValue(value);
        }
        return out as Q["_"]["result"][number];
      });
    },
  };
}
