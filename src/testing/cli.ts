// Runs `corral <argv>` in-process and captures what it printed, for CLI tests.
import { PassThrough } from "node:stream";
import { main } from "../cli/main.ts";

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function runCli(
  argv: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; color?: boolean } = {},
): Promise<CliResult> {
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
  const code = await main(argv, {
    stdout,
    stderr,
    env: opts.env ?? {},
    cwd: opts.cwd ?? process.cwd(),
    color: opts.color ?? false,
  });
  return { code, out, err };
}
