import { fromBase64, toBase64Url, toHex, utf8 } from "./encoding";

export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", utf8(text)));
}

/** `bytes` of CSPRNG output as base64url. */
export function randomToken(bytes = 32): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Compares two secrets without leaking where they differ (hashing first equalises lengths). */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest("SHA-256", utf8(a)),
    crypto.subtle.digest("SHA-256", utf8(b)),
  ]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

/** What a ciphertext is bound to: decrypting it anywhere else fails. */
export interface SecretContext {
  table: string;
  rowId: string;
  field: string;
}

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecryptionError";
  }
}

const VERSION = /^k\d{1,6}$/;

/**
 * AES-256-GCM for secrets at rest. Ciphertext is `<version>.<iv>.<ct>` (base64url), with a fresh
 * 12-byte IV each time and AAD `table:rowId:field`, so a value copied to another row or field
 * does not decrypt. The first key encrypts; every listed version decrypts.
 */
export class SecretBox {
  private constructor(
    readonly currentVersion: string,
    private readonly keys: ReadonlyMap<string, CryptoKey>,
  ) {}

  /** Key versions still accepted for decryption but no longer used to encrypt. */
  get oldVersions(): string[] {
    return [...this.keys.keys()].filter((version) => version !== this.currentVersion);
  }

  /** Parses `k2:<base64 32 bytes>,k1:<base64 32 bytes>`. */
  static async fromKeyring(keyring: string): Promise<SecretBox> {
    const entries = keyring
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean);
    if (entries.length === 0) throw new Error("TOKEN_ENCRYPTION_KEYS is empty");
    const keys = new Map<string, CryptoKey>();
    for (const entry of entries) {
      const [version, material, extra] = entry.split(":");
      if (!version || !VERSION.test(version) || !material || extra !== undefined) {
        throw new Error("TOKEN_ENCRYPTION_KEYS entries must look like k<N>:<base64 32-byte key>");
      }
      if (keys.has(version)) throw new Error(`TOKEN_ENCRYPTION_KEYS lists ${version} twice`);
      let raw: Uint8Array;
      try {
        raw = fromBase64(material);
      } catch {
        throw new Error(`TOKEN_ENCRYPTION_KEYS ${version} is not base64`);
      }
      if (raw.byteLength !== 32) throw new Error(`TOKEN_ENCRYPTION_KEYS ${version} must be 32 bytes`);
      keys.set(version, await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]));
    }
    return new SecretBox(entries[0]?.split(":")[0] as string, keys);
  }

  async encrypt(plaintext: string, ctx: SecretContext): Promise<string> {
    const key = this.keys.get(this.currentVersion) as CryptoKey;
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: aad(ctx) },
      key,
      utf8(plaintext),
    );
    return `${this.currentVersion}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ct))}`;
  }

  async decrypt(ciphertext: string, ctx: SecretContext): Promise<string> {
    const [version, ivText, ctText, extra] = ciphertext.split(".");
    if (!version || !ivText || !ctText || extra !== undefined) {
      throw new DecryptionError("Malformed ciphertext");
    }
    const key = this.keys.get(version);
    if (!key) throw new DecryptionError(`Unknown key version ${version}`);
    try {
      const pt = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromBase64(ivText), additionalData: aad(ctx) },
        key,
        fromBase64(ctText),
      );
      return new TextDecoder().decode(pt);
    } catch {
      throw new DecryptionError(`Ciphertext of ${ctx.table}.${ctx.field} failed authentication`);
    }
  }

  /** The key version a ciphertext was written under, for the rewrap job. */
  static versionOf(ciphertext: string): string {
    return ciphertext.slice(0, ciphertext.indexOf("."));
  }
}

function aad({ table, rowId, field }: SecretContext): Uint8Array {
  return utf8(`${table}:${rowId}:${field}`);
}
