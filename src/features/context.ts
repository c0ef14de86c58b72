import type { Context } from "hono";
import type { Db } from "../db/client";
import type { AppEnv } from "../lib/router";
import type { Timeouts } from "../lib/timeouts";

/** What a service needs of the request or the invocation it runs in: bindings, the database, the time. */
export interface ServiceContext {
  env: Env;
  db: Db;
  now: number;
  /** The bounds on its KV and platform calls; absent means DEFAULT_TIMEOUTS. */
  timeouts?: Timeouts;
}

/** A request's service context, at the time it is asked for. */
export const serviceOf = (c: Context<AppEnv>): ServiceContext => ({
  env: c.env,
  db: c.var.db,
  now: Date.now(),
  timeouts: c.var.timeouts,
});
