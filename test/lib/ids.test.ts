import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/lib/errors";
import { isId, newId } from "../../src/lib/ids";
import { decodeCursor, encodeCursor } from "../../src/lib/pagination";

describe("ids", () => {
  it("are prefixed and sort by creation time", () => {
    const ids = [1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000].map((t) => newId("acc", t));
    expect(ids.every((id) => isId(id, "acc"))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(isId(ids[0] as string, "ws")).toBe(false);
  });

  it("are unique within one millisecond", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newId("acc", 1)));
    expect(ids.size).toBe(1000);
  });
});

describe("cursor", () => {
  it("round-trips an id and rejects anything else with INVALID_PARAM", () => {
    const id = newId("acc");
    expect(decodeCursor(encodeCursor(id), "acc")).toBe(id);
    for (const bad of ["", "!!!", btoa("v1:acc_nope"), encodeCursor(newId("ws")), btoa("\xff\xfe")]) {
      expect(() => decodeCursor(bad, "acc")).toThrow(ApiError);
    }
  });
});
