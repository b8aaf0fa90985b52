// Runs `corral <argv>` in-process and captures what it printed, for CLI tests.
import { PassThrough } from "node:stream";
import { main } from "../cli/main.ts";

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  color?: boolean;
  stopSignal?: AbortSignal;
}

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Starts the command; `out()`/`err()` read what it printed so far (for long-running commands). */
export function startCli(argv: string[], opts: CliOptions = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => {
    out += d;
  });
  stderr.on("data", (d) => {
    err += d;
  });
  const done = main(argv, {
    stdout,
    stderr,
    env: opts.env ?? {},
    cwd: opts.cwd ?? process.cwd(),
    color: opts.color ?? false,
    ...(opts.stopSignal ? { stopSignal: opts.stopSignal } : {}),
  });
  return { done, out: () => out, err: () => err };
}

export async function runCli(argv: string[], opts: CliOptions = {}): Promise<CliResult> {
  const running = startCli(argv, opts);
  const code = await running.done;
  return { code, out: running.out(), err: running.err() };
}
