import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("answers healthz", async () => {
  const res = await exports.default.fetch("http://sb.test/healthz");
  expect(res.status).toBe(200);
  expect(res.headers.get("x-request-id")).toMatch(/^req_/);
});
