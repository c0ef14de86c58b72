// The layers of src/, enforced: each folder may import only the folders below it.
//   lib        nothing of ours (errors, config, ids, crypto, pagination, the pool…)
//   db         lib
//   platforms  lib, db (types), and each other: never a feature, a job, the app or the entry
//   features   lib, db, platforms, each other: never a job, the app or the entry
//   jobs       everything above but the app and the entry
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "..", "..", "src");

const ALLOWED: Record<string, readonly string[]> = {
  lib: ["lib"],
  db: ["lib", "db"],
  platforms: ["lib", "db", "platforms"],
  features: ["lib", "db", "platforms", "features"],
  jobs: ["lib", "db", "platforms", "features", "jobs"],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

/** The layer a file of src/ belongs to: its top folder, or the file itself (app.ts, index.ts). */
const layerOf = (file: string) => path.relative(SRC, file).split(path.sep)[0]?.replace(/\.ts$/, "") ?? "";

/** Every relative import and export-from of a file, resolved to the layer it reaches. */
function importedLayers(file: string): { specifier: string; layer: string }[] {
  const text = readFileSync(file, "utf8");
  const found = [];
  for (const match of text.matchAll(
    /(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\(\s*"(\.[^"]+)"\s*\)/g,
  )) {
    const specifier = (match[1] ?? match[2]) as string;
    const target = path.resolve(path.dirname(file), specifier);
    found.push({ specifier, layer: layerOf(target) });
  }
  return found;
}

describe("the layers of src/", () => {
  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    it(`${layer} imports only ${allowed.join(", ")}`, () => {
      const offences = sources(path.join(SRC, layer)).flatMap((file) =>
        importedLayers(file)
          .filter(({ layer: reached }) => !allowed.includes(reached))
          .map(({ specifier }) => `${path.relative(SRC, file)} imports ${specifier}`),
      );
      expect(offences).toEqual([]);
    });
  }

  it("finds the imports it checks", () => {
    const reached = importedLayers(path.join(SRC, "app.ts")).map(({ layer }) => layer);
    expect(reached).toEqual(expect.arrayContaining(["lib", "db", "features", "platforms"]));
  });
});
