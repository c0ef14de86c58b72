import { ConfigError } from "../../lib/config";
import { fromBase64, toBase64Url, utf8 } from "../../lib/encoding";

/** ES256 throughout: the one algorithm every AT Protocol authorization server must accept. */
const ES256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;

/** A public signing key as published in a JWKS. */
export interface PublicJwk {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
  kid?: string;
  alg?: "ES256";
  use?: "sig";
}

/** One of the client's signing keys: the private key signs client assertions under its kid. */
export interface ClientKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: PublicJwk & { kid: string; alg: "ES256"; use: "sig" };
}

/** Where the client's signing keys come from: the secret as written, or a seed a key is derived from. */
export type KeySource = { secret: string } | { seed: string };

const KID = /^[A-Za-z0-9._-]{1,64}$/;
const NAME = "BLUESKY_OAUTH_KEYS";

function publicOf(jwk: JsonWebKey): PublicJwk {
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.x || !jwk.y) throw new Error("not a P-256 key");
  return { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y };
}

async function clientKey(kid: string, pkcs8: Uint8Array): Promise<ClientKey> {
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, ES256, true, ["sign"]);
  const jwk = (await crypto.subtle.exportKey("jwk", key)) as JsonWebKey;
  const privateKey = await crypto.subtle.importKey("jwk", jwk, ES256, false, ["sign"]);
  return { kid, privateKey, publicJwk: { ...publicOf(jwk), kid, alg: "ES256", use: "sig" } };
}

/** PKCS#8 of a bare P-256 scalar (RFC 5915 without the optional public key, which the import derives). */
function pkcs8OfScalar(d: Uint8Array): Uint8Array {
  const head = [
    0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
    0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04,
    0x20,
  ];
  return Uint8Array.from([...head, ...d]);
}

/** A development key derived (HKDF-SHA-256) from a seed: stable across isolates and restarts. */
async function derivedKey(seed: string): Promise<ClientKey> {
  const material = await crypto.subtle.importKey("raw", utf8(seed), "HKDF", false, ["deriveBits"]);
  for (let attempt = 0; attempt < 4; attempt++) {
    const bits = await crypto.subtle.deriveBits(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: utf8("switchboard-atproto-client"),
        info: utf8(`client signing key v1/${attempt}`),
      },
      material,
      256,
    );
    try {
      const key = await clientKey("dev", pkcs8OfScalar(new Uint8Array(bits)));
      const kid = `dev-${(await jwkThumbprint(key.publicJwk)).slice(0, 8)}`;
      return { ...key, kid, publicJwk: { ...key.publicJwk, kid } };
    } catch {
      // A scalar outside the curve's order (odds of about 2^-32): derive the next one.
    }
  }
  throw new ConfigError(`${NAME} could not be derived; set it`);
}

async function parseKeys(secret: string): Promise<ClientKey[]> {
  const keys: ClientKey[] = [];
  for (const entry of secret.split(",").map((e) => e.trim())) {
    const colon = entry.indexOf(":");
    const kid = entry.slice(0, colon);
    if (colon < 1 || !KID.test(kid))
      throw new ConfigError(`${NAME} entries must look like "kid:<base64 PKCS#8 P-256 key>"`);
    if (keys.some((k) => k.kid === kid)) throw new ConfigError(`${NAME} names kid ${kid} twice`);
    try {
      keys.push(await clientKey(kid, fromBase64(entry.slice(colon + 1))));
    } catch {
      throw new ConfigError(`${NAME} entry ${kid} is not a base64 PKCS#8 P-256 private key`);
    }
  }
  return keys;
}

const cache = new Map<string, Promise<ClientKey[]>>();

/** The client's signing keys, imported once per isolate; the first signs new grants. */
export function clientKeys(source: KeySource): Promise<ClientKey[]> {
  const id = "secret" in source ? `s:${source.secret}` : `d:${source.seed}`;
  let keys = cache.get(id);
  if (!keys) {
    keys = ("secret" in source ? parseKeys(source.secret) : derivedKey(source.seed).then((k) => [k])).catch(
      (err: Error) => {
        cache.delete(id);
        throw err;
      },
    );
    cache.set(id, keys);
  }
  return keys;
}

/** RFC 7638 thumbprint (SHA-256, base64url) of a P-256 public key. */
export async function jwkThumbprint(jwk: Pick<PublicJwk, "crv" | "kty" | "x" | "y">): Promise<string> {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(canonical))));
}

/** A fresh DPoP key pair, and its private JWK to keep (encrypted, with the account's tokens). */
export async function newDpopKey(): Promise<JsonWebKey> {
  const pair = (await crypto.subtle.generateKey(ES256, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d };
}

/** The DPoP key pair kept as a private JWK; the public half extractable, as DPoP proofs embed it. */
export async function dpopKeyPair(jwk: unknown): Promise<CryptoKeyPair> {
  const stored = jwk as JsonWebKey | null;
  if (!stored || typeof stored !== "object" || typeof stored.d !== "string")
    throw new Error("The account holds no DPoP key");
  const privateKey = await crypto.subtle.importKey("jwk", stored, ES256, false, ["sign"]);
  const publicKey = await crypto.subtle.importKey("jwk", publicOf(stored), ES256, true, ["verify"]);
  return { privateKey, publicKey };
}

/** Verifies an ES256 JWS (compact) over its signing input with a public JWK. */
export async function verifyEs256(jwk: PublicJwk, signingInput: string, signature: string): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey("jwk", publicOf(jwk), ES256, false, ["verify"]);
    return await crypto.subtle.verify(SIGN, key, fromBase64(signature), utf8(signingInput));
  } catch {
    return false;
  }
}

/** Signs an ES256 JWT with `key` (tests and the sandbox mint their own). */
export async function signEs256(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: CryptoKey,
): Promise<string> {
  const input = `${toBase64Url(utf8(JSON.stringify(header)))}.${toBase64Url(utf8(JSON.stringify(payload)))}`;
  const signature = await crypto.subtle.sign(SIGN, key, utf8(input));
  return `${input}.${toBase64Url(new Uint8Array(signature))}`;
}
