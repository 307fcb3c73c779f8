/**
 * Writes the API's OpenAPI 3.1 document (generated from the zod schemas in functions/api/schemas.ts) to
 * docs/openapi.json, formatted by Biome as the linter wants it. `npm run openapi`;
 * `npm run openapi -- --check` only compares and exits 1 when the committed document differs from the
 * generated one (test/api/openapi.test.ts makes the same comparison).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { openApiText, sameDocument } from "../functions/api/openapi.ts";

const path = fileURLToPath(new URL("../docs/openapi.json", import.meta.url));
const biome = fileURLToPath(new URL("../node_modules/.bin/biome", import.meta.url));

const text = openApiText();
if (process.argv.includes("--check")) {
  const committed = existsSync(path) ? readFileSync(path, "utf8") : "";
  if (!sameDocument(committed, text)) {
    console.error(`${path} is out of date: run npm run openapi`);
    process.exit(1);
  }
  console.log(`${path} is up to date`);
} else {
  writeFileSync(path, text);
  // The linter formats JSON its own way (short arrays on one line): leave the file as it wants it.
  const formatted = spawnSync(biome, ["format", "--write", path], { stdio: "inherit" });
  if (formatted.status !== 0) console.warn("biome did not format the document; run npm run lint -- --write");
  console.log(`wrote ${path}`);
}
