import { env } from "cloudflare:workers";
import { and, desc, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { compileSelect } from "../../src/db/compiled";
import { accounts } from "../../src/db/schema";
import { accountViewColumns } from "../../src/features/accounts/accounts.repository";
import { createWorkspace, insertAccount } from "../helpers/api";

describe("compileSelect", () => {
  it("answers exactly what drizzle's own select answers: JSON, booleans, nulls, integers", async () => {
    const ws = await createWorkspace();
    const db = createDb(env.DB);
    const first = await insertAccount(ws.id);
    await db
      .update(accounts)
      .set({
        metadata: { plan: "pro", nested: { n: 1 } },
        scopes: ["read", "write"],
        isSharedAccount: true,
        needsPlaylistReauth: true,
        lastErrorCode: "TOKEN_EXPIRED",
        lastErrorAt: 1_700_000_000_000,
      })
      .where(eq(accounts.id, first.id));
    const second = await insertAccount(ws.id);
    await db
      .update(accounts)
      .set({ metadata: null, username: null, displayName: "Ünïcode 🚀" })
      .where(eq(accounts.id, second.id));

    const where = (workspaceId: string | ReturnType<typeof sql.placeholder>) =>
      eq(accounts.workspaceId, workspaceId);
    const compiled = compileSelect(accountViewColumns, (select) =>
      select
        .from(accounts)
        .where(where(sql.placeholder("ws")))
        .orderBy(desc(accounts.id))
        .limit(10),
    );
    const viaDrizzle = await db
      .select(accountViewColumns)
      .from(accounts)
      .where(where(ws.id))
      .orderBy(desc(accounts.id))
      .limit(10);

    const rows = await compiled.all(db, { ws: ws.id });
    expect(rows).toHaveLength(2);
    expect(rows).toEqual(viaDrizzle);
    expect(rows[1]).toMatchObject({ metadata: { plan: "pro", nested: { n: 1 } }, isSharedAccount: true });
    expect(rows[0]).toMatchObject({ metadata: null, username: null, isSharedAccount: false });
    expect(compiled.sql).toContain('"workspace_id" = ?');
  });

  it("fills a placeholder used more than once, and binds nothing the statement does not name", async () => {
    const ws = await createWorkspace();
    const { id } = await insertAccount(ws.id);
    const db = createDb(env.DB);
    await db.update(accounts).set({ username: "alpha", name: "beta" }).where(eq(accounts.id, id));
    const compiled = compileSelect({ id: accounts.id }, (select) =>
      select
        .from(accounts)
        .where(
          and(
            eq(accounts.workspaceId, sql.placeholder("ws")),
            sql`(${accounts.username} = ${sql.placeholder("q")} OR ${accounts.name} = ${sql.placeholder("q")})`,
          ),
        ),
    );
    expect(await compiled.all(db, { ws: ws.id, q: "alpha", unused: 1 })).toEqual([{ id }]);
    expect(await compiled.all(db, { ws: ws.id, q: "beta" })).toEqual([{ id }]);
    expect(await compiled.all(db, { ws: ws.id, q: "gamma" })).toEqual([]);
  });
});
