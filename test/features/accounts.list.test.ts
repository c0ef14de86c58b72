import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { STATUS_FILTERS } from "../../src/features/accounts/accounts.schemas";
import { ACCOUNT_STATUSES } from "../../src/lib/domain";
import { api, call, createWorkspace, insertAccount, ok, type TestWorkspace } from "../helpers/api";

type ListQuery = { limit?: number; cursor?: string };
const list = (ws: TestWorkspace, query: ListQuery = {}) =>
  ok(api(ws.key).GET("/v1/accounts", { params: { query } }));

async function pageThrough(ws: TestWorkspace, limit: number, between?: () => Promise<void>) {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await list(ws, { limit, ...(cursor ? { cursor } : {}) });
    expect(page.pagination.limit).toBe(limit);
    expect(page.data.length).toBeLessThanOrEqual(limit);
    seen.push(...page.data.map((a) => a.id));
    cursor = page.pagination.next_cursor;
    expect(page.pagination.has_more).toBe(cursor !== null);
    pages += 1;
    if (between) await between();
  } while (cursor);
  return { seen, pages };
}

describe("GET /v1/accounts paging", () => {
  it("returns every row exactly once, newest first, even when rows arrive between pages", async () => {
    const ws = await createWorkspace();
    const original: string[] = [];
    for (let i = 0; i < 23; i++) original.push((await insertAccount(ws.id)).id);
    const inserted: string[] = [];
    const { seen, pages } = await pageThrough(ws, 5, async () => {
      inserted.push((await insertAccount(ws.id)).id);
    });
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort().reverse());
    // Every row that existed when paging began is seen; rows added later sort above the cursor.
    expect(seen.filter((id) => original.includes(id)).sort()).toEqual([...original].sort());
    expect(seen.filter((id) => inserted.includes(id))).toEqual([]);
  });

  it("gives the same page for the same cursor", async () => {
    const ws = await createWorkspace();
    for (let i = 0; i < 6; i++) await insertAccount(ws.id);
    const first = await list(ws, { limit: 2 });
    const cursor = first.pagination.next_cursor ?? undefined;
    const a = await list(ws, { limit: 2, cursor });
    const b = await list(ws, { limit: 2, cursor });
    expect(a).toEqual(b);
    expect(a.data).toHaveLength(2);
  });

  it("defaults to 20 per page and says when the last page is reached", async () => {
    const ws = await createWorkspace();
    for (let i = 0; i < 21; i++) await insertAccount(ws.id);
    const first = await list(ws);
    expect(first.data).toHaveLength(20);
    expect(first.pagination).toMatchObject({ has_more: true, limit: 20 });
    const last = await list(ws, { cursor: first.pagination.next_cursor ?? undefined });
    expect(last.data).toHaveLength(1);
    expect(last.pagination).toEqual({ has_more: false, next_cursor: null, limit: 20 });
    const full = await list(ws, { limit: 21 });
    expect(full.pagination).toEqual({ has_more: false, next_cursor: null, limit: 21 });
  });
});

describe("GET /v1/accounts filters", () => {
  let ws: TestWorkspace;
  const byStatus: Record<string, string> = {};
  let linkedinId: string;

  beforeAll(async () => {
    ws = await createWorkspace();
    for (const status of ["active", "expired", "error", "suspended", "disconnected"]) {
      byStatus[status] = (await insertAccount(ws.id, { status, username: `@${status}_100%` })).id;
    }
    linkedinId = (
      await insertAccount(ws.id, { platform: "linkedin", username: "Ada Lovelace", displayName: "Ada L." })
    ).id;
  });

  // Raw query strings: the cases below spell values in every case, as a hand-written URL may.
  const ids = async (query: string) => {
    const res = await call(`/v1/accounts?${query}`, { key: ws.key });
    expect(res.status, res.text).toBe(200);
    return (res.json.data as { id: string }[]).map((a) => a.id).sort();
  };
  const of = (...statuses: string[]) => statuses.map((s) => byStatus[s] as string).sort();

  it("excludes disconnected accounts by default and includes them on request", async () => {
    expect(await ids("")).toEqual([...of("active", "expired", "error", "suspended"), linkedinId].sort());
    expect(await ids("includeArchived=true")).toEqual(
      [...of("active", "expired", "error", "suspended", "disconnected"), linkedinId].sort(),
    );
    expect(await ids("includeArchived=FALSE")).toEqual(await ids(""));
  });

  it.each([
    ["ACTIVE", ["active", "linkedin"]],
    ["active", ["active", "linkedin"]],
    ["Active", ["active", "linkedin"]],
    ["ERROR", ["error", "expired"]],
    ["error", ["error", "expired"]],
    ["INACTIVE", ["error", "expired", "suspended"]],
    ["inactive", ["error", "expired", "suspended"]],
    ["DISCONNECTED", ["disconnected"]],
    ["disconnected", ["disconnected"]],
    ["EXPIRED", ["expired"]],
    ["expired", ["expired"]],
    ["SUSPENDED", ["suspended"]],
    ["Suspended", ["suspended"]],
  ])("status=%s matches %j in any case", async (status, expected) => {
    const want = expected.map((s) => (s === "linkedin" ? linkedinId : (byStatus[s] as string))).sort();
    expect(await ids(`status=${status}`)).toEqual(want);
    // A status filter decides on its own whether archived rows are included.
    expect(await ids(`status=${status}&includeArchived=true`)).toEqual(want);
  });

  it("accepts every status an account can be answered with as a filter", async () => {
    for (const status of ACCOUNT_STATUSES) {
      expect(STATUS_FILTERS).toContain(status);
      expect(await ids(`status=${status.toUpperCase()}`)).toContain(byStatus[status]);
    }
  });

  it("treats status=all like no status filter", async () => {
    expect(await ids("status=all")).toEqual(await ids(""));
    expect(await ids("status=ALL&includeArchived=true")).toEqual(await ids("includeArchived=true"));
  });

  it("filters by platform in any case and answers lowercase enums", async () => {
    expect(await ids("platform=LINKEDIN")).toEqual([linkedinId]);
    expect(await ids("platform=linkedin&status=ACTIVE")).toEqual([linkedinId]);
    const res = await call("/v1/accounts?platform=TWITTER&status=ERROR", { key: ws.key });
    for (const account of res.json.data) {
      expect(account.platform).toBe("twitter");
      expect(["error", "expired"]).toContain(account.status);
    }
  });

  it("searches username, display name and name, case-insensitively and literally", async () => {
    expect(await ids("q=ada")).toEqual([linkedinId]);
    expect(await ids("q=a%20l.")).toEqual([linkedinId]);
    expect(await ids("q=EXPIRED")).toEqual(of("expired"));
    // % and _ are literal characters, not wildcards.
    expect(await ids(`q=${encodeURIComponent("100%")}&includeArchived=true`)).toHaveLength(5);
    expect(await ids(`q=${encodeURIComponent("red_1")}`)).toEqual(of("expired"));
    expect(await ids(`q=${encodeURIComponent("%")}`)).toHaveLength(4);
    expect(await ids(`q=${encodeURIComponent("_%")}`)).toEqual([]);
    expect(await ids("q=nobody")).toEqual([]);
  });

  it("answers the reference contract's fields with lowercase enums and no secrets", async () => {
    const res = await call(`/v1/accounts/${linkedinId}`, { key: ws.key });
    expect(res.json).toMatchObject({
      id: linkedinId,
      platform: "linkedin",
      username: "Ada Lovelace",
      displayName: "Ada L.",
      status: "active",
      needsPlaylistReauth: false,
      isSharedAccount: false,
    });
    expect(Date.parse(res.json.connectedAt)).not.toBeNaN();
    const row = await env.DB.prepare("SELECT access_token_enc FROM accounts WHERE id = ?")
      .bind(linkedinId)
      .first();
    expect(res.text).not.toContain(row?.access_token_enc as string);
    expect(res.text).not.toMatch(/secret|token_enc|Enc"/i);
  });
});
