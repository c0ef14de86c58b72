import { fromBase64, utf8 } from "../../lib/encoding";

const SECRET_PREFIX = "whsec_";

/** A new Standard Webhooks secret: `whsec_` + base64 of 24 random bytes. */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return SECRET_PREFIX + btoa(String.fromCharCode(...bytes));
}

const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    const raw = fromBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    if (keys.size > 1000) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

/** `v1,<base64 HMAC-SHA256 of id.timestamp.body>`, per the Standard Webhooks specification. */
export async function signWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    utf8(`${id}.${timestampSeconds}.${body}`),
  );
  return `v1,${btoa(String.fromCharCode(...new Uint8Array(mac)))}`;
}

/** The headers of one attempt; during a rotation both secrets sign (space-separated signatures). */
export async function webhookHeaders(secrets: string[], id: string, timestampSeconds: number, body: string) {
  const signatures = await Promise.all(
    secrets.map((secret) => signWebhook(secret, id, timestampSeconds, body)),
  );
  return {
    "content-type": "application/json",
    "user-agent": "Switchboard-Webhooks/1.0",
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": signatures.join(" "),
  };
}
