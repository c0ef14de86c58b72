import { describe, expect, it } from "vitest";
import committed from "../../openapi.json";
import { call } from "../helpers/api";

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
});
