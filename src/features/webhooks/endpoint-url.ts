import { ApiError } from "../../lib/errors";

function reject(reason: string): never {
  throw new ApiError("INVALID_PARAM", `Invalid url: ${reason}`, [{ field: "url", message: reason }]);
}

/** IPv4 literal in any of the forms URL accepts and normalises (dotted, hex, octal, integer). */
function ipv4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  return parts.map(Number);
}

function privateV4([a, b]: number[]): boolean {
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && (b as number) >= 64 && (b as number) <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && (b as number) >= 16 && (b as number) <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) ||
    (a as number) >= 224
  );
}

function privateV6(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "::" || h === "::1") return true;
  const mapped =
    h.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/) ?? h.match(/^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/);
  if (mapped) return true;
  return /^(fc|fd|fe[89ab])/.test(h) || h.startsWith("ff");
}

/**
 * Where a webhook endpoint may point. In production: https only, and no literal private, loopback,
 * link-local or reserved address, nor localhost (SSRF). Elsewhere plain http is allowed for local receivers.
 */
export function validateEndpointUrl(raw: string, production: boolean): string {
  if (raw.length > 2048) reject("must be at most 2048 characters");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    reject("must be an absolute URL");
  }
  if (url.protocol !== "https:" && (production || url.protocol !== "http:")) {
    reject(production ? "must use https" : "must use https or http");
  }
  if (url.username || url.password) reject("must not contain credentials");
  if (url.hash) reject("must not contain a fragment");
  if (production) {
    // "localhost." is localhost: compare names without their trailing dot.
    const host = url.hostname.replace(/\.$/, "");
    if (
      host === "localhost" ||
      host.endsWith(".localhost") ||
      host.endsWith(".local") ||
      host.endsWith(".internal")
    ) {
      reject("must be a public host");
    }
    const v4 = ipv4(host);
    if ((v4 && privateV4(v4)) || (host.startsWith("[") && privateV6(host))) {
      reject("must not be a private, loopback or link-local address");
    }
  }
  return url.toString();
}
