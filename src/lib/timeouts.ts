import { ApiError } from "./errors";

/** Per-call timeout for every outbound platform request. */
export const PROVIDER_TIMEOUT_MS = 10_000;

/** How long a request waits on one KV call: a healthy KV answers in milliseconds. */
export const STORAGE_TIMEOUT_MS = 3_000;

/** What a STORAGE_UNAVAILABLE answer asks the caller to wait. */
export const STORAGE_RETRY_AFTER_SECONDS = 5;

/** The bounds a request puts on what it waits for; tests set them small instead of waiting. */
export interface Timeouts {
  /** Each KV call, then STORAGE_UNAVAILABLE. */
  storageMs: number;
  /** Each platform call, then a transient ProviderError. */
  providerMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { storageMs: STORAGE_TIMEOUT_MS, providerMs: PROVIDER_TIMEOUT_MS };

/**
 * Runs one storage call within `timeoutMs`; a failure or a timeout is STORAGE_UNAVAILABLE (503), so
 * the caller may retry. A call that times out may still complete later: only idempotent or
 * harmless writes go through here (an unused OAuth state expires on its own).
 */
export async function storageCall<T>(what: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([call(), late]);
  } catch (err) {
    console.error(
      JSON.stringify({
        level: "error",
        event: "storage_unavailable",
        what,
        message: err instanceof Error ? err.message.slice(0, 200) : "unknown",
      }),
    );
    throw new ApiError("STORAGE_UNAVAILABLE", `${what} is unavailable; try again shortly`, undefined, {
      "retry-after": String(STORAGE_RETRY_AFTER_SECONDS),
    });
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
