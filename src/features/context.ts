import type { Db } from "../db/client";

/** What a service needs of the request or the invocation it runs in: bindings, the database, the time. */
export interface ServiceContext {
  env: Env;
  db: Db;
  now: number;
}
