// Bundled in place of zod's `locales` namespace through `[alias]` in wrangler.toml. zod reaches
// every locale through `z.locales`, and @hono/zod-openapi hands `z` around whole, so the bundler
// keeps all of them (260 KB minified, 18% of the deployed bundle gzipped). Our errors are written
// by our own mapper in English: only zod's default locale, English, is kept.
export { default as en } from "zod/v4/locales/en.js";
