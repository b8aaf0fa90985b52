#!/usr/bin/env node
// Runs the built CLI (npm run build). Node >= 22.
import { main } from "../dist/cli/main.js";

const controller = new AbortController();
process.once("SIGINT", () => controller.abort());
process.once("SIGTERM", () => controller.abort());
process.exitCode = await main(process.argv.slice(2), { stopSignal: controller.signal });
