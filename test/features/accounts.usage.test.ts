import { beforeAll, describe, expect, it } from "vitest";
import { call, createWorkspace, insertAccount, type TestWorkspace } from "../helpers/api";

let ws: TestWorkspace;
let other: TestWorkspace;
beforeAll(async () => {
  ws = await createWorkspace();
  other = await createWorkspace();
});

const patch = (id: string, body: unknown, key = ws.key) =>
  call(`/v1/accounts/${id}`, { method: "PATCH", key, body });
const idsOf = (res: { json: { data: { id: string }[] } }) => res.json.data.map((a) => a.id);

describe("usage labels", () => {
  it("are set through PATCH (trimmed, repeats dropped), shown on the account, and cleared by null or []", async () => {
    const { id, usage } = await insertAccount(ws.id);
    expect(usage).toEqual([]);
    const set = await patch(id, { usage: [" nightly-digest ", "campaign 42", "nightly-digest"] });
    expect(set.status).toBe(200);
    expect(set.json.usage).toEqual(["nightly-digest", "campaign 42"]);
    expect((await call(`/v1/accounts/${id}`, { key: ws.key })).json.usage).toEqual([
      "nightly-digest",
      "campaign 42",
    ]);
    // Another field's PATCH keeps them.
    expect((await patch(id, { name: "Main" })).json.usage).toEqual(["nightly-digest", "campaign 42"]);
    expect((await patch(id, { usage: null })).json.usage).toEqual([]);
    await patch(id, { usage: ["x"] });
    expect((await patch(id, { usage: [] })).json.usage).toEqual([]);
  });

  it("filter the list on one label, exactly, with the other filters, its pages and its total", async () => {
    const a = await insertAccount(ws.id, { platform: "twitter" });
    const b = await insertAccount(ws.id, { platform: "linkedin" });
    const c = await insertAccount(ws.id, { platform: "twitter" });
    await patch(a.id, { usage: ["scheduler", "reports"] });
    await patch(b.id, { usage: ["scheduler"] });
    await patch(c.id, { usage: ["scheduler-v2", "Scheduler"] });
    const theirs = await insertAccount(other.id);
    await patch(theirs.id, { usage: ["scheduler"] }, other.key);

    const list = (query: string) => call(`/v1/accounts?${query}`, { key: ws.key });
    expect(idsOf(await list("usage=scheduler"))).toEqual([b.id, a.id]);
    expect(idsOf(await list("usage=reports"))).toEqual([a.id]);
    expect(idsOf(await list("usage=schedul"))).toEqual([]);
    expect(idsOf(await list("usage=scheduler&platform=twitter"))).toEqual([a.id]);
    const first = await list("usage=scheduler&limit=1&includeTotal=true");
    expect(idsOf(first)).toEqual([b.id]);
    expect(first.json.pagination).toMatchObject({ has_more: true, total: 2 });
    expect(idsOf(await list(`usage=scheduler&limit=1&cursor=${first.json.pagination.next_cursor}`))).toEqual([
      a.id,
    ]);
    // A label is a plain string: LIKE and JSON characters mean nothing.
    await patch(c.id, { usage: ['50% "off"', "%"] });
    expect(idsOf(await list(`usage=${encodeURIComponent('50% "off"')}`))).toEqual([c.id]);
    expect(idsOf(await list("usage=%25"))).toEqual([c.id]);
  });

  it("are bounded, and a bad one gets the error envelope naming it", async () => {
    const { id } = await insertAccount(ws.id);
    for (const [usage, field] of [
      [["ok", ""], "usage.1"],
      [["x".repeat(65)], "usage.0"],
      [Array.from({ length: 21 }, (_, i) => `job-${i}`), "usage"],
      ["scheduler", "usage"],
      [[1], "usage.0"],
    ] as const) {
      const res = await patch(id, { usage });
      expect(res.status, JSON.stringify(usage)).toBe(400);
      expect(res.json.error).toMatchObject({ code: "INVALID_PARAM" });
      expect(res.json.error.details[0].field).toBe(field);
    }
    expect(
      (await patch(id, { usage: Array.from({ length: 20 }, (_, i) => "y".repeat(60) + i) })).status,
    ).toBe(200);
    const query = await call(`/v1/accounts?usage=${"x".repeat(65)}`, { key: ws.key });
    expect(query.status).toBe(400);
    expect(query.json.error.details[0].field).toBe("usage");
    expect((await call("/v1/accounts?usage=", { key: ws.key })).status).toBe(400);
  });
});
