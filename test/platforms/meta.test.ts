import { describe, expect, it } from "vitest";
import { facebook } from "../../src/platforms/facebook";
import { GRAPH_VERSION } from "../../src/platforms/meta";
import { whatsapp } from "../../src/platforms/whatsapp";

describe("Graph API version", () => {
  it("is v26.0, the current version: v21.0 retires on 21 January 2027", () => {
    expect(GRAPH_VERSION).toBe("v26.0");
  });

  it("is the one setting every Graph endpoint is built from", () => {
    const urls = [
      facebook.endpoints.authorizationUrl,
      facebook.endpoints.tokenUrl,
      facebook.endpoints.apiBaseUrl,
      whatsapp.endpoints.apiBaseUrl,
    ];
    for (const url of urls) expect(new URL(url ?? "").pathname.split("/")[1]).toBe(GRAPH_VERSION);
  });
});
