import { describe, expect, it } from "vitest";
import { DecryptionError, SecretBox, secretsEqual, sha256Hex } from "../../src/lib/crypto";

const K1 = "k1:dGVzdC1rZXktb25lLTMyLWJ5dGVzLWxvbmctISEhISE=";
const K2 = "k2:dGVzdC1rZXktdHdvLTMyLWJ5dGVzLWxvbmctISEhISE=";
const ctx = { table: "accounts", rowId: "acc_1", field: "access_token" };

describe("SecretBox", () => {
  it("round-trips under the first key, with a fresh IV each time", async () => {
    const box = await SecretBox.fromKeyring(`${K2},${K1}`);
    const a = await box.encrypt("token-ü-✓", ctx);
    const b = await box.encrypt("token-ü-✓", ctx);
    expect(a).toMatch(/^k2\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("token");
    expect(await box.decrypt(a, ctx)).toBe("token-ü-✓");
    expect(SecretBox.versionOf(a)).toBe("k2");
  });

  it("detects tampering with the ciphertext or the IV", async () => {
    const box = await SecretBox.fromKeyring(K1);
    const sealed = await box.encrypt("secret", ctx);
    const [v, iv, ct] = sealed.split(".") as [string, string, string];
    const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
    await expect(box.decrypt(`${v}.${iv}.${flip(ct)}`, ctx)).rejects.toBeInstanceOf(DecryptionError);
    await expect(box.decrypt(`${v}.${flip(iv)}.${ct}`, ctx)).rejects.toBeInstanceOf(DecryptionError);
    await expect(box.decrypt(`${v}.${iv}`, ctx)).rejects.toBeInstanceOf(DecryptionError);
    await expect(box.decrypt("garbage", ctx)).rejects.toBeInstanceOf(DecryptionError);
  });

  it("refuses a ciphertext copied to another row, field or table", async () => {
    const box = await SecretBox.fromKeyring(K1);
    const sealed = await box.encrypt("secret", ctx);
    await expect(box.decrypt(sealed, { ...ctx, rowId: "acc_2" })).rejects.toBeInstanceOf(DecryptionError);
    await expect(box.decrypt(sealed, { ...ctx, field: "refresh_token" })).rejects.toBeInstanceOf(
      DecryptionError,
    );
    await expect(box.decrypt(sealed, { ...ctx, table: "webhook_endpoints" })).rejects.toBeInstanceOf(
      DecryptionError,
    );
  });

  it("decrypts values written under an old key version after rotation", async () => {
    const before = await SecretBox.fromKeyring(K1);
    const old = await before.encrypt("old-secret", ctx);
    const after = await SecretBox.fromKeyring(`${K2},${K1}`);
    expect(after.currentVersion).toBe("k2");
    expect(await after.decrypt(old, ctx)).toBe("old-secret");
    const dropped = await SecretBox.fromKeyring(K2);
    await expect(dropped.decrypt(old, ctx)).rejects.toThrow(/Unknown key version k1/);
  });

  it("rejects malformed keyrings with a message naming the problem", async () => {
    await expect(SecretBox.fromKeyring("")).rejects.toThrow(/empty/);
    await expect(SecretBox.fromKeyring("nope")).rejects.toThrow(/k<N>:/);
    await expect(SecretBox.fromKeyring("k1:c2hvcnQ=")).rejects.toThrow(/32 bytes/);
    await expect(SecretBox.fromKeyring(`${K1},${K1}`)).rejects.toThrow(/twice/);
  });
});

describe("hashing", () => {
  it("hashes with SHA-256 and compares secrets in constant time", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await secretsEqual("a", "a")).toBe(true);
    expect(await secretsEqual("a", "ab")).toBe(false);
  });
});
