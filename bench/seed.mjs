// Seeds the benchmark's local D1 databases: 100,000 accounts across 100 workspaces (the app's
// database) and a 1,000-row copy holding only the benchmarked workspace, through the real
// migrations and `wrangler d1 execute --file` with literal multi-row INSERTs (D1 binds at most 100
// parameters per statement). Deterministic: the same options give the same rows. Secrets are
// AES-256-GCM ciphertexts in the app's format under a bench-only key written to bench/.state.
//   node bench/seed.mjs [--rows 100000] [--workspaces 100] [--cron-accounts 1089]
import { createCipheriv, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
// The platform list is the app's own (Node 24 strips the types).
import { PLATFORMS } from "../src/lib/domain.ts";
import {
  DB_1K_ID,
  DB_100K_ID,
  log,
  MANIFEST_FILE,
  PERSIST,
  prng,
  ROOT,
  STATE,
  stopAll,
  VARS_FILE,
  wrangler,
  wranglerVersion,
} from "./lib/common.mjs";

const SEED_VERSION = 2;
const BASELINE_CONFIG = path.join("bench", "baseline", "wrangler.toml");
const SQL_DIR = path.join(STATE, "seed-sql");
const ROWS_PER_FILE = 10_000;
/** Rows per INSERT: each statement stays far below D1's 100 KB statement limit. */
const ROWS_PER_INSERT = 50;
const DAY = 86_400_000;
/** Platforms whose access tokens live an hour or two (platform modules and shared/platforms.md). */
const SHORT_LIVED = new Set([
  "twitter",
  "youtube",
  "googlebusiness",
  "reddit",
  "snapchat",
  "tiktok",
  "bluesky",
]);
const NEVER_REFRESHED = new Set(["facebook", "mastodon", "telegram", "whatsapp"]);
const HOUR = 3_600_000;
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** The app's id format (src/lib/ids.ts): prefix, 10 chars of milliseconds, 16 random chars. */
function makeId(prefix, ms, random) {
  let time = "";
  let t = Math.floor(ms);
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = "";
  for (let i = 0; i < 16; i++) rand += ALPHABET[Math.floor(random() * 32)];
  return `${prefix}_${time}${rand}`;
}

const b64url = (buf) => Buffer.from(buf).toString("base64url");

/** The app's SecretBox format: `k1.<iv>.<ciphertext+tag>`, AAD `table:rowId:field`. */
function sealer(keyBytes) {
  return (plaintext, rowId, field) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", keyBytes, iv);
    cipher.setAAD(Buffer.from(`accounts:${rowId}:${field}`));
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `k1.${b64url(iv)}.${b64url(ct)}`;
  };
}

const sqlValue = (v) =>
  v === null || v === undefined
    ? "NULL"
    : typeof v === "number"
      ? String(v)
      : typeof v === "boolean"
        ? String(Number(v))
        : `'${String(v).replaceAll("'", "''")}'`;

function inserts(table, columns, rows) {
  const out = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const values = rows
      .slice(i, i + ROWS_PER_INSERT)
      .map((row) => `(${columns.map((c) => sqlValue(row[c])).join(",")})`);
    out.push(`INSERT INTO ${table} (${columns.join(",")}) VALUES\n${values.join(",\n")};`);
  }
  return out;
}

const ACCOUNT_COLUMNS = [
  "id",
  "workspace_id",
  "platform",
  "platform_user_id",
  "username",
  "display_name",
  "avatar_url",
  "account_type",
  "status",
  "connection_type",
  "name",
  "metadata",
  "scopes",
  "access_token_enc",
  "refresh_token_enc",
  "key_version",
  "token_expires_at",
  "token_issued_at",
  "last_refreshed_at",
  "refresh_failures",
  "next_refresh_at",
  "last_error_code",
  "last_error_message",
  "last_error_at",
  "connected_at",
  "disconnected_at",
  "updated_at",
];

/** Platform user ids of the accounts the cron benchmark refreshes sort as `cron-00000`, `cron-00001`, … */
export const cronUserId = (n) => `cron-${String(n).padStart(5, "0")}`;

/**
 * Generates every row. Workspace `benchIndex` is the one the list benchmark reads (and the whole
 * 1,000-row database); cron accounts are X accounts spread over the other workspaces.
 */
export function generate({ rows, workspaces, cronAccounts, keyBytes, now }) {
  const random = prng(20261122);
  const seal = sealer(keyBytes);
  const perWorkspace = Math.floor(rows / workspaces);
  const benchIndex = Math.floor(workspaces / 2);
  const cronPerWorkspace = Math.ceil(cronAccounts / Math.max(1, workspaces - 1));
  const token = () => b64url(randomBytes(30));
  const ws = [];
  const users = [];
  const accounts = [];
  let cron = 0;
  let serial = 0;
  for (let w = 0; w < workspaces; w++) {
    const created = now - 400 * DAY + w * 60_000;
    const id = makeId("ws", created, random);
    ws.push({
      id,
      name: `Bench workspace ${w}`,
      plan: "enterprise",
      allowed_callback_domains: "[]",
      created_at: created,
      updated_at: created,
    });
    users.push({
      id: makeId("usr", created, random),
      workspace_id: id,
      email: `owner${w}@example.com`,
      created_at: created,
      updated_at: created,
    });
    for (let k = 0; k < perWorkspace; k++) {
      serial += 1;
      const isCron = w !== benchIndex && k < cronPerWorkspace && cron < cronAccounts;
      const connected = Math.floor(now - 365 * DAY * random());
      const accountId = makeId("acc", connected, random);
      const platform = isCron ? "twitter" : PLATFORMS[Math.floor(random() * PLATFORMS.length)];
      const r = random();
      const status = isCron
        ? "active"
        : r < 0.92
          ? "active"
          : r < 0.95
            ? "error"
            : r < 0.97
              ? "expired"
              : "disconnected";
      const live = status !== "disconnected";
      const refreshable = isCron || (!NEVER_REFRESHED.has(platform) && random() < 0.85);
      // Token lives as each platform's do: an hour or two on short-lived platforms (their expiry
      // soon passes: the scans that range over expiry see them, as they would in production),
      // 30 to 60 days elsewhere, none for tokens nothing refreshes on Telegram, Mastodon and co.
      const expires = !live
        ? null
        : SHORT_LIVED.has(platform) && refreshable
          ? Math.floor(now + HOUR + HOUR * random())
          : NEVER_REFRESHED.has(platform) || !refreshable
            ? random() < 0.5
              ? null
              : Math.floor(now + 30 * DAY + 30 * DAY * random())
            : Math.floor(now + 30 * DAY + 30 * DAY * random());
      const platformUserId = isCron ? cronUserId(cron++) : `${platform}-${serial}`;
      accounts.push({
        id: accountId,
        workspace_id: id,
        platform,
        platform_user_id: platformUserId,
        username: `@user${serial}`,
        display_name: `User ${serial}`,
        avatar_url: `https://cdn.example.com/avatars/${platformUserId}.jpg`,
        account_type: random() < 0.3 ? "business" : "personal",
        status,
        connection_type: "oauth",
        name: random() < 0.4 ? `Brand ${serial % 997}` : null,
        metadata: random() < 0.3 ? JSON.stringify({ customerId: `cus_${serial}`, team: "growth" }) : null,
        scopes: JSON.stringify(["read", "write", "offline.access"]),
        access_token_enc: live ? seal(token(), accountId, "access_token") : null,
        refresh_token_enc: live && refreshable ? seal(token(), accountId, "refresh_token") : null,
        key_version: live ? "k1" : null,
        token_expires_at: expires,
        token_issued_at: live ? connected : null,
        last_refreshed_at: null,
        refresh_failures: status === "error" ? 2 : 0,
        // Nothing comes due while the seeded state is reused (7 days): the refresh benchmark makes
        // its cron accounts due itself.
        next_refresh_at: live && refreshable ? Math.floor(now + 20 * DAY + 10 * DAY * random()) : null,
        last_error_code: status === "error" ? "invalid_grant" : null,
        last_error_message: status === "error" ? "The platform refused the refresh token" : null,
        last_error_at: status === "error" ? now - DAY : null,
        connected_at: connected,
        disconnected_at: live ? null : connected + DAY,
        updated_at: connected,
      });
    }
  }
  return { ws, users, accounts, benchIndex, cronSeeded: cron };
}

function writeSql(file, statements) {
  writeFileSync(file, `${statements.join("\n")}\n`);
}

async function migrate(envArgs) {
  await wrangler([
    "d1",
    "migrations",
    "apply",
    "DB",
    "--local",
    "--persist-to",
    PERSIST,
    "-c",
    BASELINE_CONFIG,
    ...envArgs,
  ]);
}

async function execute(file, envArgs) {
  await wrangler([
    "d1",
    "execute",
    "DB",
    "--local",
    "--persist-to",
    PERSIST,
    "-c",
    BASELINE_CONFIG,
    ...envArgs,
    "--file",
    file,
  ]);
}

export const migrationNames = () =>
  readdirSync(path.join(ROOT, "migrations"))
    .filter((f) => f.endsWith(".sql"))
    .sort();

function randomVars() {
  const key = randomBytes(32);
  const vars = {
    ENVIRONMENT: "development",
    PUBLIC_URL: "http://127.0.0.1",
    ADMIN_TOKEN: `bench-admin-${randomBytes(18).toString("base64url")}`,
    TOKEN_ENCRYPTION_KEYS: `k1:${key.toString("base64")}`,
    SANDBOX_PROVIDERS: "false",
    PROVIDER_OVERRIDES: "",
    TWITTER_CLIENT_ID: "bench-client-id",
    TWITTER_CLIENT_SECRET: `bench-${randomBytes(12).toString("base64url")}`,
  };
  return { vars, key };
}

/** Reads the bench vars file (dotenv, written by seed): local-only values, never real secrets. */
export function readVars() {
  const vars = {};
  for (const line of readFileSync(VARS_FILE, "utf8").split("\n")) {
    const m = line.match(/^([A-Z0-9_]+)="(.*)"$/);
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

export function readManifest() {
  try {
    return JSON.parse(readFileSync(MANIFEST_FILE, "utf8"));
  } catch {
    return null;
  }
}

/** Whether the seeded state on disk was made by this seed, these options, migrations and wrangler. */
export function isCurrent(manifest, options) {
  return Boolean(
    manifest &&
      existsSync(VARS_FILE) &&
      existsSync(PERSIST) &&
      manifest.version === SEED_VERSION &&
      manifest.rows === options.rows &&
      manifest.workspaces === options.workspaces &&
      manifest.cronAccounts >= options.cronAccounts &&
      manifest.wranglerVersion === wranglerVersion &&
      JSON.stringify(manifest.migrations) === JSON.stringify(migrationNames()) &&
      Date.now() - manifest.seededAt < 7 * DAY,
  );
}

export async function seed(options) {
  const started = Date.now();
  const now = Date.now();
  rmSync(PERSIST, { recursive: true, force: true });
  rmSync(SQL_DIR, { recursive: true, force: true });
  mkdirSync(SQL_DIR, { recursive: true });
  const { vars, key } = randomVars();
  writeFileSync(
    VARS_FILE,
    `# Bench-only local values, generated by bench/seed.mjs. Not secrets of any deployment.\n${Object.entries(
      vars,
    )
      .map(([k, v]) => `${k}="${v}"`)
      .join("\n")}\n`,
    { mode: 0o600 },
  );

  log(`Generating ${options.rows.toLocaleString("en")} accounts in ${options.workspaces} workspaces …`);
  const data = generate({ ...options, keyBytes: key, now });
  const bench = data.ws[data.benchIndex];
  const head = [
    ...inserts("workspaces", Object.keys(data.ws[0]), data.ws),
    ...inserts("users", Object.keys(data.users[0]), data.users),
  ];
  const files = [];
  for (let i = 0; i < data.accounts.length; i += ROWS_PER_FILE) {
    const file = path.join(SQL_DIR, `accounts-${String(i / ROWS_PER_FILE).padStart(2, "0")}.sql`);
    writeSql(file, [
      ...(i === 0 ? head : []),
      ...inserts("accounts", ACCOUNT_COLUMNS, data.accounts.slice(i, i + ROWS_PER_FILE)),
    ]);
    files.push(file);
  }
  const small = path.join(SQL_DIR, "rows1k.sql");
  const benchRows = data.accounts.filter((a) => a.workspace_id === bench.id);
  writeSql(small, [
    ...inserts("workspaces", Object.keys(data.ws[0]), [bench]),
    ...inserts("users", Object.keys(data.users[0]), [data.users[data.benchIndex]]),
    ...inserts("accounts", ACCOUNT_COLUMNS, benchRows),
  ]);

  log("Applying migrations to both local databases …");
  await migrate([]);
  await migrate(["--env", "rows1k"]);
  for (const [i, file] of files.entries()) {
    log(`wrangler d1 execute --file ${path.relative(ROOT, file)} (${i + 1}/${files.length})`);
    await execute(file, []);
  }
  log(`wrangler d1 execute --file ${path.relative(ROOT, small)} (1,000-row database)`);
  await execute(small, ["--env", "rows1k"]);

  const live = benchRows.filter((a) => a.status !== "disconnected");
  const manifest = {
    version: SEED_VERSION,
    rows: data.accounts.length,
    workspaces: data.ws.length,
    cronAccounts: data.cronSeeded,
    rows1k: benchRows.length,
    benchWorkspaceId: bench.id,
    // The newest live account: the first row of the first page.
    benchAccountId: live.reduce((a, b) => (b.id > a.id ? b : a)).id,
    databases: { rows100k: DB_100K_ID, rows1k: DB_1K_ID },
    migrations: migrationNames(),
    wranglerVersion,
    seededAt: now,
    seedSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
  writeFileSync(MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(SQL_DIR, { recursive: true, force: true });
  log(`Seeded in ${manifest.seedSeconds} s.`);
  return manifest;
}

export const DEFAULTS = { rows: 100_000, workspaces: 100, cronAccounts: 20_000 };

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      rows: { type: "string", default: String(DEFAULTS.rows) },
      workspaces: { type: "string", default: String(DEFAULTS.workspaces) },
      "cron-accounts": { type: "string", default: String(DEFAULTS.cronAccounts) },
    },
  });
  seed({
    rows: Number(values.rows),
    workspaces: Number(values.workspaces),
    cronAccounts: Number(values["cron-accounts"]),
  })
    .then((m) => console.log(JSON.stringify(m, null, 2)))
    .catch(async (err) => {
      console.error(err.message);
      await stopAll();
      process.exit(1);
    });
}
