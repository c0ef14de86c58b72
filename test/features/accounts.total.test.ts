import { beforeAll, describe, expect, it } from "vitest";
import { call, createWorkspace, insertAccount, type TestWorkspace } from "../helpers/api";

let ws: TestWorkspace;
beforeAll(async () => {
  ws = await createWorkspace();
  for (let i = 0; i < 3; i++) await insertAccount(ws.id, { platform: "twitter", username: `@tw${i}` });
  await insertAccount(ws.id, { platform: "linkedin", username: "@li0" });
  await insertAccount(ws.id, { platform: "twitter", username: "@gone", status: "disconnected" });
  await insertAccount(ws.id, { platform: "twitter", username: "@broken", status: "error" });
  // Another workspace's accounts never count.
  const other = await createWorkspace();
  await insertAccount(other.id, { platform: "twitter" });
});

const list = (query: string) => call(`/v1/accounts?${query}`, { key: ws.key });

describe("GET /v1/accounts?includeTotal=true", () => {
  it("adds pagination.total only when asked", async () => {
    expect((await list("")).json.pagination).toEqual({ has_more: false, next_cursor: null, limit: 20 });
    expect((await list("includeTotal=false")).json.pagination.total).toBeUndefined();
    const res = await list("includeTotal=true");
    expect(res.status).toBe(200);
    expect(res.json.pagination).toEqual({ has_more: false, next_cursor: null, limit: 20, total: 5 });
  });

  it("counts what the filter matches, the same on every page", async () => {
    const first = await list("includeTotal=TRUE&platform=twitter&limit=2");
    expect(first.json.data).toHaveLength(2);
    expect(first.json.pagination).toMatchObject({ has_more: true, total: 4 });
    const second = await list(
      `includeTotal=true&platform=twitter&limit=2&cursor=${first.json.pagination.next_cursor}`,
    );
    expect(second.json.data).toHaveLength(2);
    expect(second.json.pagination).toMatchObject({ has_more: false, total: 4 });
    expect((await list("includeTotal=true&status=ACTIVE")).json.pagination.total).toBe(4);
    expect((await list("includeTotal=true&status=ERROR")).json.pagination.total).toBe(1);
    expect((await list("includeTotal=true&includeArchived=true")).json.pagination.total).toBe(6);
    expect((await list("includeTotal=true&q=tw")).json.pagination.total).toBe(3);
    expect((await list("includeTotal=true&q=nobody")).json).toEqual({
      data: [],
      pagination: { has_more: false, next_cursor: null, limit: 20, total: 0 },
    });
  });

  it("refuses a value that is not a boolean with the error envelope", async () => {
    const res = await list("includeTotal=yes");
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({
      code: "INVALID_PARAM",
      details: [{ field: "includeTotal", message: "Must be true or false" }],
    });
  });
});
