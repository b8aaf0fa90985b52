// The web app's files, read once at start-up into memory. Only files that exist in web/ at
// that moment are served, by exact name: no path from a request ever reaches the filesystem.
import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../policy/user-error.ts";

export const WEB_DIR = fileURLToPath(new URL("./web/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

export interface Asset {
  body: Buffer;
  type: string;
}

export function loadAssets(dir = WEB_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const type = TYPES[extname(entry.name)];
    if (!entry.isFile() || !type || !/^[a-z0-9][a-z0-9-]*\.[a-z]+$/.test(entry.name)) continue;
    assets.set(entry.name, { body: readFileSync(join(dir, entry.name)), type });
  }
  for (const page of ["index.html", "login.html"])
    if (!assets.has(page))
      throw new UserError(`${join(dir, page)} is missing: the dashboard cannot start`, {
        hint: "the installation is incomplete: run npm run build, or reinstall corral",
      });
  return assets;
}
