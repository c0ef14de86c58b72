import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { PLATFORMS } from "./src/lib/domain.ts";

const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));

// Test-only secrets. Two key versions: k2 encrypts, k1 still decrypts, so rotation is exercised.
// Bindings win over a developer's .dev.vars, so every var the Worker reads is pinned here.
const secrets = {
  ADMIN_TOKEN: "test-admin-token",
  TOKEN_ENCRYPTION_KEYS:
    "k2:dGVzdC1rZXktdHdvLTMyLWJ5dGVzLWxvbmctISEhISE=,k1:dGVzdC1rZXktb25lLTMyLWJ5dGVzLWxvbmctISEhISE=",
};

// Every platform talks to the in-test fake provider (test/helpers/fake-provider.ts), configured the
// way a deployment points at a sandbox: through PROVIDER_OVERRIDES and <PLATFORM>_CLIENT_* secrets.
const fake = (p: string) => ({
  authorizationUrl: `https://fake.test/${p}/authorize`,
  tokenUrl: `https://fake.test/${p}/token`,
  revocationUrl: `https://fake.test/${p}/revoke`,
  apiBaseUrl: `https://fake.test/${p}/api`,
});
const providerBindings = {
  PROVIDER_OVERRIDES: JSON.stringify({
    ...Object.fromEntries(PLATFORMS.map((p) => [p, fake(p)])),
    // TikTok Business's own app: its token, refresh and revoke calls are paths of its API base.
    tiktok_business: {
      authorizationUrl: "https://fake.test/tiktok_business/authorize",
      apiBaseUrl: "https://fake.test/tiktok_business/api",
    },
  }),
  TIKTOK_BUSINESS_CLIENT_ID: "tiktok_business-client-id",
  TIKTOK_BUSINESS_CLIENT_SECRET: "tiktok_business-client-secret",
  ...Object.fromEntries(
    PLATFORMS.flatMap((p) => [
      [`${p.toUpperCase()}_CLIENT_ID`, `${p}-client-id`],
      [`${p.toUpperCase()}_CLIENT_SECRET`, `${p}-client-secret`],
    ]),
  ),
};

// These packages ship source maps whose sources are not in the package; load them without the maps
// rather than have Vite warn on every run.
const withoutDanglingSourceMaps = {
  name: "without-dangling-source-maps",
  async load(id: string) {
    const file = id.split("?")[0];
    if (!/[\\/]node_modules[\\/](standardwebhooks|oauth4webapi)[\\/].*\.js$/.test(file)) return null;
    return (await readFile(file, "utf8")).replace(/^\/\/# sourceMappingURL=.*$/m, "");
  },
};

export default defineConfig({
  test: {
    // One pool worker per core, not vitest's cores - 1: a worker mostly waits on its workerd
    // process, so on 2 cores two of them finish the suite in about two thirds of the time.
    maxWorkers: Math.max(2, availableParallelism()),
    projects: [
      {
        plugins: [
          withoutDanglingSourceMaps,
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: migrations,
                ENVIRONMENT: "test",
                SANDBOX_PROVIDERS: "false",
                PUBLIC_URL: "https://switchboard.test",
                INSTAGRAM_AUDIO_ENABLED: "false",
                WHATSAPP_CONFIG_ID: "whatsapp-config-id",
                D1_QUERIES_PER_INVOCATION: "1000",
                ...secrets,
                ...providerBindings,
              },
            },
          }),
        ],
        test: {
          name: "worker",
          // One runtime per pool worker, reused across files: test/helpers/setup.ts resets D1 and KV
          // at the start of each file, so files keep their own storage without paying ~1 s each
          // for a fresh Miniflare.
          isolate: false,
          include: ["test/**/*.test.ts"],
          exclude: ["test/node/**"],
          setupFiles: ["./test/helpers/setup.ts"],
        },
      },
      {
        // Runs `npm run dev` itself: wrangler's own config and .dev.vars loading.
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          exclude: ["test/node/**/*.browser.test.ts"],
          environment: "node",
        },
      },
      {
        // A real headless Chromium against `npm run dev` (npm run test:browser, part of npm run check):
        // a minute of browser work kept out of `npm test`, which stays well inside 90 s.
        test: { name: "browser", include: ["test/node/**/*.browser.test.ts"], environment: "node" },
      },
    ],
  },
});
