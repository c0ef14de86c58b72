// Runs after every install: copies the API reference's script from @scalar/api-reference into
// public/ (wrangler.toml's [assets] directory), so GET /docs loads it from the Worker, not a CDN.
// public/ is generated: it ignores itself, and none of it is committed.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const PUBLIC = path.join(ROOT, "public");
// The package exports no path to its browser build, so it is read from where npm installs it.
const SOURCE = path.join(ROOT, "node_modules/@scalar/api-reference/dist/browser/standalone.js");

mkdirSync(path.join(PUBLIC, "docs"), { recursive: true });
copyFileSync(SOURCE, path.join(PUBLIC, "docs", "scalar.js"));
writeFileSync(path.join(PUBLIC, ".gitignore"), "*\n");
writeFileSync(path.join(PUBLIC, ".assetsignore"), ".gitignore\n");
