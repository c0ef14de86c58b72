import { afterEach, beforeEach, expect } from "vitest";
import { type CallOptions, call } from "./api";
import { issuedSecrets } from "./platform-fakes";

/**
 * Records every answer a test file's calls get, and fails each test whose answers hold a token a fake
 * issued. Call it once at the top level of the file; use its `api` (or `record`) for the calls.
 */
export function watchForLeaks() {
  let responses: { path: string; text: string }[] = [];
  beforeEach(() => {
    responses = [];
  });
  afterEach(() => {
    const leaks: string[] = [];
    for (const { path, text } of responses) {
      for (const secret of issuedSecrets) if (text.includes(secret)) leaks.push(`${path}: ${secret}`);
    }
    expect(leaks, "tokens issued by a fake found in a response").toEqual([]);
  });
  const record = <T extends { text: string }>(path: string, res: T): T => {
    responses.push({ path, text: res.text });
    return res;
  };
  return {
    record,
    api: async (path: string, options: CallOptions = {}) => record(path, await call(path, options)),
  };
}
