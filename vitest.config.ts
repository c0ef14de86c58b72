import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: migrations,
          ENVIRONMENT: "test",
          ADMIN_TOKEN: "test-admin-token",
          // Two key versions: k2 encrypts, k1 still decrypts (rotation is tested).
          TOKEN_ENCRYPTION_KEYS:
            "k2:dGVzdC1rZXktdHdvLTMyLWJ5dGVzLWxvbmctISEhISE=,k1:dGVzdC1rZXktb25lLTMyLWJ5dGVzLWxvbmctISEhISE=",
        },
      },
    }),
  ],
  test: {
    setupFiles: ["./test/helpers/setup.ts"],
  },
});
