import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { createDb } from "../../src/db/client";
import { type AccountRow, accounts } from "../../src/db/schema";

/** The account's row as D1 stores it (snake_case columns), or null. */
export const rowOf = (id: string) =>
  env.DB.prepare("SELECT * FROM accounts WHERE id = ?").bind(id).first<Record<string, unknown>>();

/** The account's row as drizzle reads it (an AccountRow); the account must exist. */
export const accountRowOf = async (id: string) =>
  (await createDb(env.DB).select().from(accounts).where(eq(accounts.id, id)))[0] as AccountRow;
