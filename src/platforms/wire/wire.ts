/**
 * A platform's side of the wire, written once for the sandbox (which serves it) and the test fakes
 * (which imitate it): plain functions from plain data to the bodies the platform sends.
 */

/** An error answer as the platform sends it: status, JSON body and any header. */
export interface WireError {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** The user a who-am-I or profile answer describes. */
export interface WireProfile {
  id: string;
  username: string;
  name: string;
  avatarUrl?: string;
}

/** A comma-separated query parameter as a list (absent or empty: none). */
export const listParam = (value: string | null | undefined): string[] =>
  (value ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
