import { MINUTE } from "../lib/time";
import type { RefreshModel } from "./types";

/** No token is left closer than this to its expiry, whatever the platform's own lead time. */
export const MIN_REFRESH_LEAD_MS = 5 * MINUTE;

export interface TokenTimes {
  expiresAt: number | null;
  issuedAt: number;
  hasRefreshToken: boolean;
}

/**
 * When the cron should next refresh a token, from the platform's refresh model: `max(5 min, lead)`
 * before expiry, the lead capped at half the token's life; extend-in-place tokens also wait until
 * they are old enough. Null: nothing to do.
 */
export function nextRefreshAt(model: RefreshModel, t: TokenTimes): number | null {
  if (t.expiresAt === null || model.kind === "none") return null;
  // A lead longer than half the token's life would refresh it again at once: cap it there.
  const lead = Math.min(model.leadMs, (t.expiresAt - t.issuedAt) / 2);
  const due = t.expiresAt - Math.max(MIN_REFRESH_LEAD_MS, lead);
  if (model.kind === "extend-in-place") {
    const at = Math.max(due, t.issuedAt + model.minAgeMs);
    return at < t.expiresAt ? at : null;
  }
  return t.hasRefreshToken ? due : null;
}
