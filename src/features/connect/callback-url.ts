import { ApiError } from "../../lib/errors";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
const MAX_LENGTH = 2048;

function rejecter(field: string) {
  return (reason: string): never => {
    throw new ApiError("INVALID_PARAM", `Invalid ${field}: ${reason}`, [{ field, message: reason }]);
  };
}

/** Whether `hostname` is on the allowlist: an exact entry, or a `*.example.com` entry for its subdomains. */
export function hostAllowed(hostname: string, allowed: readonly string[]): boolean {
  return allowed.some((entry) =>
    entry.startsWith("*.")
      ? hostname.endsWith(entry.slice(1)) && hostname.length > entry.length - 1
      : hostname === entry,
  );
}

/**
 * A callbackUrl the workspace may send users back to: https (http only on loopback), no userinfo or
 * fragment, nothing the URL parser would reinterpret, and a host on the workspace's allowlist.
 */
export function validateCallbackUrl(
  raw: string,
  allowedDomains: readonly string[],
  field = "callbackUrl",
): URL {
  const reject: (reason: string) => never = rejecter(field);
  if (raw.length > MAX_LENGTH) reject(`must be at most ${MAX_LENGTH} characters`);
  // Parsers disagree on backslashes, whitespace and control characters: refuse them outright.
  const control = [...raw].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
  if (control || /[\s\\]/.test(raw)) reject("must not contain whitespace, control characters or backslashes");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    reject("must be an absolute URL");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    reject("must use https (http is allowed only on localhost or 127.0.0.1)");
  }
  const authority = raw.slice(raw.indexOf("//") + 2).split(/[/?#]/)[0] ?? "";
  if (url.username || url.password || authority.includes("@")) {
    reject("must not contain credentials");
  }
  if (url.hash || raw.includes("#")) reject("must not contain a fragment");
  if (url.hostname.endsWith(".") || url.hostname.includes("%")) reject("has an invalid host");
  if (!hostAllowed(url.hostname, allowedDomains)) {
    reject(`host ${url.hostname} is not on this workspace's allowed callback domains`);
  }
  return url;
}
