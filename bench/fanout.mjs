// `npm run bench:fanout`: only the fan-out figures of `npm run bench` (bench/lib/fanout.mjs), on
// the same seeded state, merged into bench/results.json under "fanout".
//   npm run bench:fanout              20,000 accounts end to end, 5 consumer rounds per latency
//   npm run bench:fanout -- --quick   5,000 accounts, 3 rounds
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { BENCH, log, onCleanup, stopAll } from "./lib/common.mjs";
import { startFakeTokenEndpoint } from "./lib/fake-token-endpoint.mjs";
import { measureFanout } from "./lib/fanout.mjs";
import { build, startWorkers } from "./lib/workers.mjs";
import { DEFAULTS, isCurrent, readManifest, readVars, seed } from "./seed.mjs";

const { values: flags } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
const plan = flags.quick ? { e2eAccounts: 5_000, rounds: 3 } : { e2eAccounts: 20_000, rounds: 5 };

async function main() {
  const wanted = { ...DEFAULTS, cronAccounts: Math.max(DEFAULTS.cronAccounts, plan.e2eAccounts) };
  let manifest = readManifest();
  if (!isCurrent(manifest, wanted)) manifest = await seed(wanted);
  const vars = readVars();
  log("Building with wrangler deploy --dry-run …");
  const app = await build("app");
  const baseline = await build("baseline", ["-c", "bench/baseline/wrangler.toml"]);
  const instrumented = await build("instrumented", ["-c", "bench/instrumented/wrangler.toml"]);
  const fake = await startFakeTokenEndpoint({ delayMs: 100 });
  onCleanup(() => fake.close());
  vars.PROVIDER_OVERRIDES = JSON.stringify({ twitter: { tokenUrl: `${fake.url}/2/oauth2/token` } });
  const workers = await startWorkers({
    app: app.script,
    baseline: baseline.script,
    instrumented: instrumented.script,
    vars,
  });
  const db = await workers.mf.getD1Database("DB", "instrumented");
  const fanout = await measureFanout({ urls: workers.urls, db, fake, ...plan });
  const file = path.join(BENCH, "results.json");
  const results = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  results.fanout = { generatedAt: new Date().toISOString(), mode: flags.quick ? "quick" : "full", ...fanout };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log(JSON.stringify(fanout, null, 2));
  log("Written to bench/results.json (fanout)");
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
  });
