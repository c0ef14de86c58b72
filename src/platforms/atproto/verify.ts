import { fromBase64, toBase64Url, utf8 } from "../../lib/encoding";
import { jwkThumbprint, type PublicJwk, verifyEs256 } from "./keys";

/**
 * The server side of DPoP proofs and private_key_jwt assertions, as an AT Protocol authorization
 * server and PDS check them (RFC 9449 §4.3, RFC 7523 §3): used by the sandbox and the test fakes.
 */

/** Proofs and assertions older or newer than this are refused. */
const MAX_AGE_S = 300;

type Checked<T> = ({ ok: true } & T) | { ok: false; error: string; description: string };

function decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(fromBase64(part))) as unknown;
    return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function split(jwt: string | null | undefined) {
  const parts = (jwt ?? "").split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return undefined;
  const [h, p, s] = parts as [string, string, string];
  const header = decodePart(h);
  const payload = decodePart(p);
  return header && payload ? { header, payload, input: `${h}.${p}`, signature: s } : undefined;
}

const fresh = (iat: unknown, now: number) =>
  typeof iat === "number" && Math.abs(iat - Math.floor(now / 1000)) <= MAX_AGE_S;

export interface DpopCheck {
  method: string;
  url: URL | string;
  now: number;
  /** The access token the proof must be bound to (ath), for resource requests. */
  accessToken?: string;
  /** Whether a nonce is one the server issued and still accepts. */
  nonceValid: (nonce: string | undefined) => boolean;
}

/** A DPoP proof's checks; a missing or stale nonce is use_dpop_nonce, anything else invalid_dpop_proof. */
export async function verifyDpopProof(
  proof: string | null | undefined,
  check: DpopCheck,
): Promise<Checked<{ jkt: string; jti: string }>> {
  const bad = (description: string) => ({ ok: false as const, error: "invalid_dpop_proof", description });
  if (!proof) return bad("A DPoP proof is required");
  const jwt = split(proof);
  if (!jwt) return bad("The DPoP proof is not a JWT");
  const { header, payload } = jwt;
  const jwk = header.jwk as PublicJwk | undefined;
  if (header.typ !== "dpop+jwt" || header.alg !== "ES256" || !jwk || typeof jwk !== "object")
    return bad("The DPoP proof must be an ES256 dpop+jwt carrying its public jwk");
  if ("d" in jwk) return bad("The DPoP proof carries a private key");
  if (!(await verifyEs256(jwk, jwt.input, jwt.signature)))
    return bad("The DPoP proof's signature is invalid");
  const url = new URL(check.url);
  if (payload.htm !== check.method.toUpperCase()) return bad("htm does not match the request");
  if (payload.htu !== `${url.origin}${url.pathname}`) return bad("htu does not match the request");
  if (!fresh(payload.iat, check.now)) return bad("The DPoP proof is too old or from the future");
  if (typeof payload.jti !== "string" || !payload.jti) return bad("The DPoP proof has no jti");
  if (check.accessToken !== undefined) {
    const ath = toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(check.accessToken))));
    if (payload.ath !== ath) return bad("ath does not match the access token");
  }
  if (!check.nonceValid(typeof payload.nonce === "string" ? payload.nonce : undefined))
    return {
      ok: false,
      error: "use_dpop_nonce",
      description: "Authorization server requires nonce in DPoP proof",
    };
  return { ok: true, jkt: await jwkThumbprint(jwk), jti: payload.jti };
}

export interface AssertionCheck {
  clientId: string;
  issuer: string;
  keys: readonly PublicJwk[];
  now: number;
}

/** A private_key_jwt client assertion from the form of a PAR, token or revocation request. */
export async function verifyClientAssertion(
  form: URLSearchParams,
  check: AssertionCheck,
): Promise<Checked<{ kid: string; jti: string }>> {
  const bad = (description: string) => ({ ok: false as const, error: "invalid_client", description });
  if (form.get("client_id") !== check.clientId) return bad("Unknown client_id");
  if (form.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    return bad("private_key_jwt client authentication is required");
  const jwt = split(form.get("client_assertion"));
  if (!jwt) return bad("The client assertion is not a JWT");
  const { header, payload } = jwt;
  const key = check.keys.find((k) => k.kid === header.kid);
  if (header.alg !== "ES256" || !key) return bad("The client assertion names no key of the client's JWKS");
  if (!(await verifyEs256(key, jwt.input, jwt.signature)))
    return bad("The client assertion's signature is invalid");
  if (payload.iss !== check.clientId || payload.sub !== check.clientId)
    return bad("The client assertion's iss and sub must be the client_id");
  if (payload.aud !== check.issuer) return bad("The client assertion's aud must be the issuer");
  const seconds = Math.floor(check.now / 1000);
  if (!fresh(payload.iat, check.now) || typeof payload.exp !== "number" || payload.exp < seconds)
    return bad("The client assertion has expired");
  if (typeof payload.jti !== "string" || !payload.jti) return bad("The client assertion has no jti");
  return { ok: true, kid: key.kid as string, jti: payload.jti };
}
