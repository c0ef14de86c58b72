const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

export type IdPrefix = "ws" | "key" | "usr" | "acc" | "wh" | "evt" | "dlv" | "bf" | "req" | "cs";

/**
 * `<prefix>_` + 26 Crockford base32 characters: 48 bits of milliseconds then 80 random bits,
 * so ids sort by creation time as plain strings.
 */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  let time = "";
  let t = Math.floor(now);
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let rand = "";
  for (let i = 0; i < 16; i++) rand += ALPHABET[(bytes[i] as number) % 32];
  return `${prefix}_${time}${rand}`;
}

const ID_PATTERN = /^[a-z]{2,3}_[0-9a-hjkmnp-tv-z]{26}$/;

export function isId(value: string, prefix: IdPrefix): boolean {
  return value.startsWith(`${prefix}_`) && ID_PATTERN.test(value);
}
