import { env } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { createDb } from "../../src/db/client";
import { coalescingBatch } from "../../src/db/coalesce";
import { workspaces } from "../../src/db/schema";

const db = createDb(env.DB);
const workspace = (id: string) => db.insert(workspaces).values({ id, name: id, createdAt: 1, updatedAt: 1 });
const rename = (id: string, name: string) =>
  db.update(workspaces).set({ name }).where(eq(workspaces.id, id)).returning({ name: workspaces.name });
const names = async (ids: string[]) =>
  Object.fromEntries(
    (await db.select().from(workspaces).where(inArray(workspaces.id, ids))).map((w) => [w.id, w.name]),
  );

describe("coalescingBatch", () => {
  it("sends the callers waiting while a batch is in flight as one round trip, each answered its own results", async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `ws_coalesce_${i}`);
    await db.batch([workspace(ids[0] as string), ...ids.slice(1).map((id) => workspace(id))]);
    const spied = createDb(env.DB);
    const trips = vi.spyOn(spied, "batch");
    const batch = coalescingBatch(spied);

    const results = await Promise.all(ids.map((id) => batch([rename(id, `${id}-a`), rename(id, `${id}-b`)])));

    // The first caller leaves alone; the five that queued behind it share the next trip.
    expect(trips).toHaveBeenCalledTimes(2);
    results.forEach((result, i) => {
      expect(result).toEqual([[{ name: `${ids[i]}-a` }], [{ name: `${ids[i]}-b` }]]);
    });
    expect(await names(ids)).toEqual(Object.fromEntries(ids.map((id) => [id, `${id}-b`])));
  });

  it("retries each caller alone when a combined batch fails: one caller's failure never undoes another's write", async () => {
    await db.batch([workspace("ws_iso_first"), workspace("ws_iso_good"), workspace("ws_iso_bad")]);
    const batch = coalescingBatch(db);

    const first = batch([rename("ws_iso_first", "first")]);
    // Queued while the first is in flight, so they travel together, and the bad one's duplicate
    // insert fails that combined batch.
    const good = batch([rename("ws_iso_good", "good")]);
    const bad = batch([rename("ws_iso_bad", "renamed"), workspace("ws_iso_first")]);

    await expect(first).resolves.toEqual([[{ name: "first" }]]);
    await expect(good).resolves.toEqual([[{ name: "good" }]]);
    await expect(bad).rejects.toThrow(/UNIQUE constraint failed/);
    // The bad caller's own statements stayed all-or-nothing: its rename was rolled back.
    expect(await names(["ws_iso_first", "ws_iso_good", "ws_iso_bad"])).toEqual({
      ws_iso_first: "first",
      ws_iso_good: "good",
      ws_iso_bad: "ws_iso_bad",
    });
  });

  it("answers an empty batch without a round trip", async () => {
    const spied = createDb(env.DB);
    const trips = vi.spyOn(spied, "batch");
    expect(await coalescingBatch(spied)([])).toEqual([]);
    expect(trips).not.toHaveBeenCalled();
  });
});
