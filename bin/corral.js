#!/usr/bin/env node
// Runs the built CLI (npm run build). Node >= 22.
import module from "node:module";

// Cached compiled code roughly halves start-up, which short commands (`corral run`) feel.
module.enableCompileCache?.();
const { main } = await import("../dist/cli/main.js");
const controller = new AbortController();
process.once("SIGINT", () => controller.abort());
process.once("SIGTERM", () => controller.abort());
process.exitCode = await main(process.argv.slice(2), { stopSignal: controller.signal });
