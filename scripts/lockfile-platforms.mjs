// Adds lockfile entries for optional platform binaries (other OSes' biome and workerd builds) that
// a registry mirror may not serve. npm records nothing for an optional package
// it cannot resolve, and `npm ci` then refuses the lockfile; each entry restored here names its
// os/cpu, so npm skips it on every other platform without fetching it. Run after `npm install`
// changes package-lock.json: `npm run lock:platforms`.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;

/** os, cpu and libc of an optional platform binary, guessed from its package name. */
function platformOf(name) {
  const os = /android/.test(name)
    ? "android"
    : /darwin/.test(name)
      ? "darwin"
      : /win(32|dows)/.test(name)
        ? "win32"
        : "linux";
  const cpu = /arm64/.test(name) ? "arm64" : "x64";
  return { os: [os], cpu: [cpu], libc: /musl/.test(name) ? ["musl"] : undefined };
}

let added = 0;
for (const [key, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const at = `node_modules/${name}`;
    const nested = `${key}/node_modules/${name}`;
    if (packages[at] || packages[nested]) continue;
    const { os, cpu, libc } = platformOf(name);
    // Keys in npm's own order (version, then alphabetical), so a later `npm install` rewrites nothing.
    packages[at] = {
      version,
      cpu,
      ...(entry.dev ? { dev: true } : {}),
      ...(libc ? { libc } : {}),
      optional: true,
      os,
    };
    added += 1;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lockfile-platforms: ${added} optional platform entr${added === 1 ? "y" : "ies"} added`);
