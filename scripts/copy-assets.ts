// After tsc: copy the files tsc does not emit (the dashboard's web app, sandbox probe scripts)
// from src/ to dist/, keeping their relative paths.
import { cpSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const dist = join(root, "dist");

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

let copied = 0;
for (const file of walk(src)) {
  if (file.endsWith(".ts")) continue;
  if (/\.golden\.json$|[/\\]golden[/\\]/.test(file)) continue;
  // Test helpers stay out of the package (tsconfig.build.json excludes their TypeScript too).
  if (relative(src, file).split(/[/\\]/)[0] === "testing") continue;
  cpSync(file, join(dist, relative(src, file)));
  copied++;
}
process.stdout.write(`copied ${copied} asset files to dist/\n`);
