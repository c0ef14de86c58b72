import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));

// Test-only secrets. Two key versions: k2 encrypts, k1 still decrypts, so rotation is exercised.
// Bindings win over a developer's .dev.vars; process.env satisfies wrangler's required-secrets check.
const secrets = {
  ADMIN_TOKEN: "test-admin-token",
  TOKEN_ENCRYPTION_KEYS:
    "k2:dGVzdC1rZXktdHdvLTMyLWJ5dGVzLWxvbmctISEhISE=,k1:dGVzdC1rZXktb25lLTMyLWJ5dGVzLWxvbmctISEhISE=",
};
Object.assign(process.env, secrets);

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: migrations,
          ENVIRONMENT: "test",
          ...secrets,
        },
      },
    }),
  ],
  test: {
    setupFiles: ["./test/helpers/setup.ts"],
  },
});
