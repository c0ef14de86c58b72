import { beforeAll, describe, expect, it } from "vitest";
import { METADATA_MAX_BYTES } from "../../src/features/accounts/accounts.schemas";
import { admin, call, createWorkspace, insertAccount, type TestWorkspace } from "../helpers/api";
import { consent } from "../helpers/connect";
import { fakePlatform } from "../helpers/fake-provider";

let ws: TestWorkspace;
let accountId: string;

beforeAll(async () => {
  ws = await createWorkspace();
  accountId = (await insertAccount(ws.id)).id;
});

function expectInvalid(res: Awaited<ReturnType<typeof call>>, field?: string) {
  expect(res.status, res.text).toBe(400);
  expect(res.json.error.code).toBe("INVALID_PARAM");
  expect(typeof res.json.error.message).toBe("string");
  expect(res.headers.get("x-request-id")).toBeTruthy();
  if (field) {
    expect(res.json.error.message).toContain(field);
    expect(res.json.error.details.map((d: { field: string }) => d.field)).toContain(field);
  }
}

describe("GET /v1/accounts rejects bad queries with 400", () => {
  it.each([
    ["status=bogus", "status"],
    ["status=", "status"],
    ["status=revoked", "status"],
    ["status=expired,error", "status"],
    ["platform=myspace", "platform"],
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=abc", "limit"],
    ["limit=1.5", "limit"],
    ["limit=-1", "limit"],
    ["limit=", "limit"],
    ["includeArchived=yes", "includeArchived"],
    ["includeArchived=1", "includeArchived"],
    ["q=", "q"],
    [`q=${"x".repeat(101)}`, "q"],
    ["cursor=garbage", "cursor"],
    [`cursor=${btoa("v1:acc_../../etc")}`, "cursor"],
    [`cursor=${"a".repeat(300)}`, "cursor"],
  ])("%s", async (query, field) => {
    expectInvalid(await call(`/v1/accounts?${query}`, { key: ws.key }), field);
  });

  it("names every status filter it accepts when refusing one", async () => {
    const res = await call("/v1/accounts?status=bogus", { key: ws.key });
    expectInvalid(res, "status");
    expect(res.json.error.details[0].message).toBe(
      "Must be one of active, error, expired, suspended, disconnected, inactive, all (any case)",
    );
  });

  it("accepts the bounds", async () => {
    expect((await call("/v1/accounts?limit=1", { key: ws.key })).status).toBe(200);
    expect((await call("/v1/accounts?limit=100", { key: ws.key })).status).toBe(200);
  });

  it("validates the health route's query too", async () => {
    expectInvalid(await call("/v1/accounts/health?limit=0", { key: ws.key }), "limit");
    expectInvalid(await call("/v1/accounts/health?platform=nope", { key: ws.key }), "platform");
    expectInvalid(await call("/v1/accounts/health?cursor=nope", { key: ws.key }), "cursor");
  });
});

describe("account ids", () => {
  it("answers 404 for an unknown id and 400 for an oversized one", async () => {
    const missing = await call("/v1/accounts/acc_doesnotexist", { key: ws.key });
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({
      error: {
        code: "NOT_FOUND",
        message: "Account not found",
        requestId: missing.headers.get("x-request-id"),
      },
    });
    expectInvalid(await call(`/v1/accounts/${"a".repeat(65)}`, { key: ws.key }), "id");
  });
});

describe("PATCH /v1/accounts/:id rejects bad bodies with 400", () => {
  const patch = (body: Partial<{ rawBody: string; body: unknown; headers: Record<string, string> }>) =>
    call(`/v1/accounts/${accountId}`, { method: "PATCH", key: ws.key, ...body });

  it("non-JSON, wrong content type or no body", async () => {
    expectInvalid(await patch({ rawBody: "{not json", headers: { "content-type": "application/json" } }));
    expectInvalid(
      await patch({ rawBody: "name=x", headers: { "content-type": "application/x-www-form-urlencoded" } }),
    );
    expectInvalid(await patch({}));
  });

  it.each([
    [{ metadata: [1, 2] }, "metadata"],
    [{ metadata: "text" }, "metadata"],
    [{ metadata: 5 }, "metadata"],
    [{ name: 42 }, "name"],
    [{ name: "" }, "name"],
    [{ name: "x".repeat(101) }, "name"],
    [{ nickname: "x" }, "body"],
    [{}, "body"],
    [[], "body"],
    [null, "body"],
  ])("%j", async (body, field) => {
    expectInvalid(await patch({ body }), field === "body" ? undefined : field);
  });

  it("oversized metadata, and leaves the row untouched", async () => {
    const before = await call(`/v1/accounts/${accountId}`, { key: ws.key });
    const res = await patch({
      body: { name: "changed", metadata: { blob: "x".repeat(METADATA_MAX_BYTES) } },
    });
    expectInvalid(res, "metadata");
    const after = await call(`/v1/accounts/${accountId}`, { key: ws.key });
    expect(after.json).toEqual(before.json);
  });
});

describe("admin API rejects bad bodies with 400", () => {
  it.each([
    [{}, "name"],
    [{ name: "x", plan: "gold" }, "plan"],
    [{ name: "x", accountLimit: -1 }, "accountLimit"],
    [{ name: "x", allowedPlatforms: ["myspace"] }, "allowedPlatforms.0"],
    [{ name: "x", allowedCallbackDomains: ["https://evil.com/path"] }, "allowedCallbackDomains.0"],
    [{ name: "x", extra: true }, "body"],
  ])("workspace %j", async (body, field) => {
    const res = await admin("/workspaces", { method: "POST", body });
    expectInvalid(res, field === "body" ? undefined : field);
  });

  it("keys need at least one known scope and a future expiry", async () => {
    expectInvalid(
      await admin(`/workspaces/${ws.id}/keys`, { method: "POST", body: { name: "k", scopes: [] } }),
      "scopes",
    );
    expectInvalid(
      await admin(`/workspaces/${ws.id}/keys`, {
        method: "POST",
        body: { name: "k", scopes: ["accounts:admin"] },
      }),
      "scopes.0",
    );
    expectInvalid(
      await admin(`/workspaces/${ws.id}/keys`, {
        method: "POST",
        body: { name: "k", scopes: ["accounts:read"], expiresAt: "2001-01-01T00:00:00Z" },
      }),
      "expiresAt",
    );
    expectInvalid(
      await admin(`/workspaces/${ws.id}/keys`, {
        method: "POST",
        body: { name: "k", scopes: ["accounts:read"], userId: "usr_x" },
      }),
      "userId",
    );
  });

  it("inserting an account that exists answers 400, not 500", async () => {
    const body = { platform: "twitter", platformUserId: "dup-1", credentials: { accessToken: "t" } };
    const created = await admin(`/workspaces/${ws.id}/accounts`, { method: "POST", body });
    expect(created.status).toBe(201);
    // Wrapped like POST /v1/accounts and the callback answer it.
    expect(Object.keys(created.json)).toEqual(["account"]);
    expect(created.json.account).toMatchObject({
      platform: "twitter",
      platformUserId: "dup-1",
      status: "active",
    });
    expectInvalid(await admin(`/workspaces/${ws.id}/accounts`, { method: "POST", body }), "platformUserId");
  });

  it("unknown workspace answers 404", async () => {
    const res = await admin("/workspaces/ws_unknown/keys", {
      method: "POST",
      body: { name: "k", scopes: ["accounts:read"] },
    });
    expect(res.status).toBe(404);
  });
});

describe("unknown query parameters are refused, like unknown body fields", () => {
  it.each([
    ["/v1/accounts?stauts=active", "stauts"],
    ["/v1/accounts?limit=5&sort=asc", "sort"],
    ["/v1/accounts/health?status=error", "status"],
    // A route that declares no query takes none.
    ["/v1/accounts/ID?expand=tokens", "expand"],
    ["/v1/webhooks?limit=5", "limit"],
  ])("%s names %s", async (path, parameter) => {
    const res = await call(path.replace("ID", accountId), { key: ws.key });
    expectInvalid(res, parameter);
    expect(res.json.error).toEqual({
      code: "INVALID_PARAM",
      message: `Invalid ${parameter}: Unknown query parameter`,
      details: [{ field: parameter, message: "Unknown query parameter" }],
      requestId: res.headers.get("x-request-id"),
    });
  });

  it("names every unknown parameter, and applies to writes and the admin API too", async () => {
    const res = await call("/v1/accounts?a=1&b=2&limit=3", { key: ws.key });
    expect(res.json.error.details).toEqual([
      { field: "a", message: "Unknown query parameter" },
      { field: "b", message: "Unknown query parameter" },
    ]);
    expectInvalid(
      await call(`/v1/accounts/${accountId}?force=true`, {
        method: "PATCH",
        key: ws.key,
        body: { name: "n" },
      }),
      "force",
    );
    expectInvalid(await admin(`/workspaces/${ws.id}?verbose=1`), "verbose");
  });

  it("the OAuth redirect URI takes whatever a platform appends (Google adds scope, authuser, prompt)", async () => {
    const { state, code } = await consent(ws, fakePlatform("twitter"), {
      id: "q1",
      username: "q",
      name: "Q",
    });
    const res = await call(
      `/v1/oauth/redirect/twitter?code=${code}&state=${state}&scope=a+b&authuser=0&prompt=consent`,
    );
    expect(res.status, res.text).toBe(302);
    const forwarded = new URL(res.headers.get("location") as string);
    expect(forwarded.searchParams.get("code")).toBe(code);
  });
});

describe("unknown routes", () => {
  it("answer the 404 envelope", async () => {
    const res = await call("/v1/nothing-here", { key: ws.key });
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe("NOT_FOUND");
  });
});

describe("validation details", () => {
  it("name each unknown field and call the JSON body `body`", async () => {
    const res = await call("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "telegram", botToken: "x", extra: 1 },
    });
    expect(res.status).toBe(400);
    const fields = res.json.error.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(["credentials", "botToken", "extra"]));
    const empty = await call(`/v1/accounts/${accountId}`, { method: "PATCH", key: ws.key, body: {} });
    expect(empty.json.error.details[0].field).toBe("body");
  });
});
