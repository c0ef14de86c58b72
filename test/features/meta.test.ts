import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { ERROR_STATUS, ErrorSchema } from "../../src/lib/errors";
import { call, createWorkspace, insertAccount, issueKey } from "../helpers/api";
import { fakePlatform } from "../helpers/fake-provider";

describe("meta routes", () => {
  it("serve an OpenAPI 3.1 document generated from the route schemas", async () => {
    const res = await call("/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe("3.1.0");
    for (const path of ["/v1/accounts", "/v1/accounts/health", "/v1/accounts/{id}", "/v1/admin/workspaces"]) {
      expect(res.json.paths).toHaveProperty([path]);
    }
    const list = res.json.paths["/v1/accounts"].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(["status", "platform", "includeArchived", "q", "limit", "cursor"]),
    );
    expect(res.json.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(res.json.components.schemas.Error.properties.error.properties.code.enum).toContain(
      "PLAN_LIMIT_EXCEEDED",
    );
  });

  it("serve an interactive reference and a health check", async () => {
    const docs = await call("/docs");
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toContain("text/html");
    expect(docs.text).toContain("/v1/openapi.json");
    expect((await call("/healthz")).json).toEqual({ ok: true });
  });

  it("put x-request-id on every response, keeping a caller's id", async () => {
    for (const path of ["/healthz", "/v1/accounts", "/nowhere"]) {
      expect((await call(path)).headers.get("x-request-id")).toMatch(/^req_[0-9a-z]{26}$/);
    }
    const echoed = await call("/healthz", { headers: { "x-request-id": "client-trace-1" } });
    expect(echoed.headers.get("x-request-id")).toBe("client-trace-1");
  });
});

describe("error envelopes", () => {
  it("every one carries the requestId of its x-request-id header", async () => {
    const ws = await createWorkspace();
    const reader = await issueKey(ws.id, ["accounts:read"]);
    const disconnected = await insertAccount(ws.id, { status: "disconnected" });
    const failing = await insertAccount(ws.id);
    const fake = fakePlatform("twitter");
    fake.failNext({ kind: "5xx" });
    const refresh = (id: string) => call(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key });

    const cases: [string, () => ReturnType<typeof call>, number, string][] = [
      ["validation (defaultHook)", () => call("/v1/accounts?limit=0", { key: ws.key }), 400, "INVALID_PARAM"],
      [
        "bad bookmark",
        () => call("/healthz", { headers: { "x-d1-bookmark": "nope!" } }),
        400,
        "INVALID_PARAM",
      ],
      ["no key", () => call("/v1/accounts"), 401, "UNAUTHORIZED"],
      ["no admin token", () => call("/v1/admin/workspaces/ws_x"), 401, "UNAUTHORIZED"],
      ["missing scope", () => call("/v1/webhooks", { key: reader.key }), 403, "INSUFFICIENT_SCOPE"],
      ["unknown route", () => call("/v1/nowhere", { key: ws.key }), 404, "NOT_FOUND"],
      ["unknown account", () => call("/v1/accounts/acc_unknown", { key: ws.key }), 404, "NOT_FOUND"],
      ["sandbox off", () => call("/sandbox/twitter/authorize"), 404, "NOT_FOUND"],
      ["refresh of a disconnected account", () => refresh(disconnected.id), 409, "REFRESH_FAILED"],
      ["platform 5xx", () => refresh(failing.id), 502, "PROVIDER_ERROR"],
    ];
    for (const [name, send, status, code] of cases) {
      const res = await send();
      expect(res.status, name).toBe(status);
      expect(res.json.error.code, name).toBe(code);
      expect(res.json.error.requestId, name).toMatch(/^req_[0-9a-z]{26}$/);
      expect(res.json.error.requestId, name).toBe(res.headers.get("x-request-id"));
    }
    const traced = await call("/v1/accounts", { headers: { "x-request-id": "client-trace-2" } });
    expect(traced.json.error.requestId).toBe("client-trace-2");
  });
});

describe("the OpenAPI document's error responses", () => {
  it("give each status its own description, the one Error schema and an example of that status", async () => {
    const doc = (await call("/v1/openapi.json")).json;
    const statuses = new Set(Object.values(ERROR_STATUS).map(String));
    const statusOf = new Map<string, string>();
    let envelopes = 0;
    for (const [path, item] of Object.entries<Record<string, { security?: unknown[]; responses: object }>>(
      doc.paths,
    )) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, response] of Object.entries<{
          description: string;
          content?: Record<string, { schema: unknown; example?: { error: { code: string } } }>;
        }>(op.responses as never)) {
          if (Number(status) < 400) continue;
          const where = `${method.toUpperCase()} ${path} ${status}`;
          expect(statuses, `${where}: no error code has this status`).toContain(status);
          const other = statusOf.get(response.description);
          expect(other ?? status, `${where} is described like a ${other}`).toBe(status);
          statusOf.set(response.description, status);
          const json = response.content?.["application/json"];
          if (!json) {
            // Only a public page for a person in a browser (the OAuth redirect) answers without it.
            expect(Object.keys(response.content ?? {}), where).toEqual(["text/html"]);
            expect(op.security, where).toEqual([]);
            continue;
          }
          expect(json.schema, where).toEqual({ $ref: "#/components/schemas/Error" });
          expect(ErrorSchema.safeParse(json.example).success, `${where} example`).toBe(true);
          const code = json.example?.error.code as keyof typeof ERROR_STATUS;
          expect(ERROR_STATUS[code], `${where} example is ${code}`).toBe(Number(status));
          envelopes += 1;
        }
      }
    }
    expect(envelopes).toBeGreaterThan(150);
    const error = doc.components.schemas.Error.properties.error;
    expect(error.required).toEqual(expect.arrayContaining(["code", "message", "requestId"]));
    expect(error.properties.code.enum).toEqual(Object.keys(ERROR_STATUS));
    // The one envelope: no other component schema is an object of `error` alone.
    const envelopeLike = Object.entries<{ properties?: object }>(doc.components.schemas)
      .filter(([, schema]) => Object.keys(schema.properties ?? {}).join() === "error")
      .map(([name]) => name);
    expect(envelopeLike).toEqual(["Error"]);
  });
});

describe("unexpected failures", () => {
  it("answer INTERNAL with the request id and log no secret", async () => {
    const app = createApp();
    app.get("/boom", () => {
      throw new Error("db exploded");
    });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await app.request(
      "/boom",
      { headers: { authorization: "Bearer swb_live_supersecret" } },
      env,
    );
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe("INTERNAL");
    expect(body.error.requestId).toBe(res.headers.get("x-request-id"));
    const lines = logged.mock.calls.map((args) => args.join(" ")).join("\n");
    expect(lines).toContain(body.error.requestId);
    expect(lines).not.toContain("supersecret");
    logged.mockRestore();
  });
});

describe("D1 sessions", () => {
  it("return a bookmark and accept it back; a malformed one is a 400", async () => {
    const first = await call("/v1/admin/workspaces", {
      method: "POST",
      key: env.ADMIN_TOKEN,
      body: { name: "bookmarks" },
    });
    const bookmark = first.headers.get("x-d1-bookmark");
    expect(bookmark).toBeTruthy();
    const read = await call(`/v1/admin/workspaces/${first.json.id}`, {
      key: env.ADMIN_TOKEN,
      headers: { "x-d1-bookmark": bookmark as string },
    });
    expect(read.status).toBe(200);
    const bad = await call("/healthz", { headers: { "x-d1-bookmark": "'; DROP TABLE accounts" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details[0].field).toBe("x-d1-bookmark");
  });
});
