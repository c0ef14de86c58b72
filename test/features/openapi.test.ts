import { describe, expect, it } from "vitest";
import committed from "../../openapi.json";
import { call, createWorkspace, insertAccount } from "../helpers/api";
import { eventChecker, responseChecker } from "../helpers/openapi";

describe("the OpenAPI document", () => {
  it("is the committed openapi.json (npm run openapi writes it)", async () => {
    const served = await call("/v1/openapi.json");
    expect(served.status).toBe(200);
    expect(served.json).toEqual(committed);
  });

  it("names every operation and describes every event type as a webhook", async () => {
    const doc = (await call("/v1/openapi.json")).json;
    const ids: string[] = [];
    for (const item of Object.values<Record<string, { operationId?: string; summary?: string }>>(doc.paths)) {
      for (const op of Object.values(item)) {
        expect(op.operationId).toMatch(/^[a-z][A-Za-z0-9]+$/);
        expect(op.summary).toBeTruthy();
        ids.push(op.operationId as string);
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(Object.keys(doc.webhooks).sort()).toEqual(
      [...doc.components.schemas.EventType.enum, "webhook.test"].sort(),
    );
  });

  it("refuses answers the document does not describe: an extra field, a wrong type, a status", async () => {
    const check = responseChecker((await call("/v1/openapi.json")).json);
    const ws = await createWorkspace();
    const account = await insertAccount(ws.id);
    const res = await call(`/v1/accounts/${account.id}`, { key: ws.key });
    const as = (status: number, json: unknown) => ({ status, headers: res.headers, json, text: "{}" });
    expect(check("GET", "/v1/accounts/{id}", res)).toBeUndefined();
    expect(check("GET", "/v1/accounts/{id}", as(200, { ...res.json, secret: "x" }))).toMatch(/secret/);
    expect(check("GET", "/v1/accounts/{id}", as(200, { ...res.json, status: 1 }))).toMatch(/\/status/);
    expect(check("GET", "/v1/accounts/{id}", as(201, res.json))).toMatch(/status 201 is not documented/);
    expect(check("GET", "/v1/accounts/{id}", as(404, { error: { code: "NOT_FOUND" } }))).toMatch(/message/);
  });

  it("refuses webhook payloads its webhooks section does not describe", async () => {
    const check = eventChecker((await call("/v1/openapi.json")).json);
    const account = { id: "acc_1", platform: "TWITTER", status: "ERROR", username: "@a", displayName: "A" };
    const event = {
      id: "evt_1",
      type: "account.error",
      createdAt: "2026-12-06T00:00:00.000Z",
      workspaceId: "ws_1",
      data: { account: { ...account, endUserId: null }, error: { code: "ACCESS_REFUSED", message: "m" } },
    };
    expect(check(event)).toBeUndefined();
    expect(check({ ...event, data: { account: event.data.account } })).toMatch(/error/);
    expect(check({ ...event, data: { ...event.data, token: "x" } })).toMatch(/token/);
    expect(check({ ...event, type: "account.renamed" })).toMatch(/not in the document/);
  });
});
