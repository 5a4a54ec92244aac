/* Builds the service worker and the page script (`npm run build:sw`):
 *   pwa/js/sw.js   -> static/pwa/sw.js  (classic script, Workbox bundled in)
 *   pwa/js/page.js -> static/pwa/pwa.js (ES module)
 * Both outputs are committed, so running the app needs no npm. Each starts with the SHA-256 of
 * the sources it was built from; tests/pwa/test_build.py checks it against the sources (and,
 * where npm is installed, that a fresh build is byte-identical).
 * Usage: node pwa/js/build.mjs [output folder]
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const out = resolve(process.argv[2] || join(root, "static", "pwa"));

/** The hash tests/pwa/test_build.py recomputes: every pwa/js/*.js file and package-lock.json. */
export function sourceHash() {
  const hash = createHash("sha256");
  const files = readdirSync(here).filter((f) => f.endsWith(".js") || f.endsWith(".mjs")).sort();
  for (const name of files) {
    hash.update(`pwa/js/${name}\0`);
    hash.update(readFileSync(join(here, name)));
    hash.update("\0");
  }
  hash.update("package-lock.json\0");
  hash.update(readFileSync(join(root, "package-lock.json")));
  return hash.digest("hex");
}

const banner = `/* Built by \`npm run build:sw\` from pwa/js/ (do not edit). sources-sha256: ${sourceHash()} */`;
const common = {
  bundle: true,
  minify: true,
  legalComments: "none",
  target: ["es2020"],
  charset: "utf8",
  // Workbox's development logging is dropped from the build.
  define: { "process.env.NODE_ENV": '"production"' },
  banner: { js: banner },
  logLevel: "warning",
};

await build({ ...common, entryPoints: [join(here, "sw.js")], outfile: join(out, "sw.js"), format: "iife" });
await build({ ...common, entryPoints: [join(here, "page.js")], outfile: join(out, "pwa.js"), format: "esm" });
