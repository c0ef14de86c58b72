// `npm run deploy` runs this first: the deployed Worker must hold the required secrets. wrangler's own
// check (`[secrets] required`) is not used because it also hides every optional secret from
// `wrangler dev` (README, "Secrets"). Extra arguments (e.g. `--env staging`) go to wrangler.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { ROOT } from "./lib/env.mjs";

export const REQUIRED_SECRETS = ["ADMIN_TOKEN", "TOKEN_ENCRYPTION_KEYS"];

const require = createRequire(path.join(ROOT, "package.json"));
const wrangler = path.join(path.dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
const args = ["secret", "list", "--format", "json", ...process.argv.slice(2)];
const run = spawnSync(process.execPath, [wrangler, ...args], { cwd: ROOT, encoding: "utf8" });
if (run.status !== 0) {
  process.stderr.write(run.stderr || run.stdout);
  console.error("[deploy] Could not list the Worker's secrets (is `wrangler login` done?).");
  process.exit(run.status || 1);
}
let names;
try {
  names = new Set(JSON.parse(run.stdout).map((secret) => secret.name));
} catch {
  console.error("[deploy] `wrangler secret list` answered something other than JSON.");
  process.exit(1);
}
const missing = REQUIRED_SECRETS.filter((name) => !names.has(name));
if (missing.length) {
  for (const name of missing)
    console.error(`[deploy] Missing secret ${name}: npx wrangler secret put ${name}`);
  process.exit(1);
}
