import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** The repository root: every script resolves files from here, whatever the working directory. */
export const ROOT = path.resolve(import.meta.dirname, "..", "..");

export const DEFAULT_URL = "http://127.0.0.1:8787";

/** Parses dotenv text (what wrangler reads from .dev.vars): KEY=value, optional quotes, # comments. */
export function parseDotenv(text) {
  const vars = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const match = line.match(/^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/);
    if (!match) continue;
    const [, key, rest] = match;
    let value = rest;
    const quote = value[0];
    if ((quote === '"' || quote === "'" || quote === "`") && value.indexOf(quote, 1) > 0) {
      value = value.slice(1, value.indexOf(quote, 1));
      if (quote === '"') value = value.replaceAll("\\n", "\n");
    } else {
      value = value.replace(/\s+#.*$/, "").trim();
    }
    vars[key] = value;
  }
  return vars;
}

/** The local secrets wrangler dev uses: `.dev.vars.<env>` when it exists for `env`, else `.dev.vars`. */
export function devVarsPath(env) {
  const specific = env ? path.join(ROOT, `.dev.vars.${env}`) : null;
  return specific && existsSync(specific) ? specific : path.join(ROOT, ".dev.vars");
}

/**
 * The parsed local secrets, or null when no file exists. With `envFiles` (wrangler's `--env-file`,
 * paths relative to the repository) those files are read instead, later ones winning, as wrangler does.
 */
export function readDevVars(env, envFiles = []) {
  const files = envFiles.length ? envFiles.map((file) => path.resolve(ROOT, file)) : [devVarsPath(env)];
  const present = files.filter((file) => existsSync(file));
  if (!present.length) return null;
  return Object.assign({}, ...present.map((file) => parseDotenv(readFileSync(file, "utf8"))));
}

/** Whether a URL points at this machine (only then may a script read the local .dev.vars). */
export function isLocalUrl(url) {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || host === "0.0.0.0" || /^127(\.\d{1,3}){3}$/.test(host);
}
