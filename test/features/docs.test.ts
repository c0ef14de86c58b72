import { describe, expect, it } from "vitest";
import { call } from "../helpers/api";

describe("GET /docs", () => {
  it("references nothing outside this origin and runs under a nonce-based CSP", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.text).not.toMatch(/https?:\/\/|(?:src|href)="\/\//);
    const sources = [...res.text.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]*)"/g)].map(
      (m) => m[1],
    );
    expect(sources).toEqual(["/docs/scalar.js"]);
    expect(res.text).toContain('"url": "/v1/openapi.json"');

    const policy = res.headers.get("content-security-policy") ?? "";
    const nonce = policy.match(/script-src 'self' 'nonce-([A-Za-z0-9_-]{22})'/)?.[1];
    expect(nonce, policy).toBeDefined();
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).not.toMatch(/unsafe-eval|https?:|\*/);
    const scripts = [...res.text.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(1);
    for (const attributes of scripts) expect(attributes).toContain(`nonce="${nonce}"`);
    const again = await call("/docs");
    expect(again.headers.get("content-security-policy")).not.toContain(nonce);
  });
});
