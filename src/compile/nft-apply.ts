// The shell around the nftables ruleset: load it with `nft -f` (one transaction, so a bad
// ruleset leaves the running one in place), or only check it with `nft -c -f`.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../policy/user-error.ts";

export class NftError extends UserError {
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(message);
    this.stderr = stderr;
  }
}

export interface ApplyOptions {
  /** Only check (`nft -c`): parse and validate against the kernel, change nothing. */
  check?: boolean;
  /** Run inside this named network namespace (`ip netns exec`), e.g. a lab's host. */
  netns?: string;
}

function exec(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    execFile(cmd ?? "nft", args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === "number"
          ? Number(err.code)
          : 1
        : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function nftArgv(args: string[], netns?: string): string[] {
  return netns ? ["ip", "netns", "exec", netns, "nft", ...args] : ["nft", ...args];
}

/** Loads (or checks) a ruleset; throws NftError with nft's own message when it is refused. */
export async function applyRuleset(text: string, options: ApplyOptions = {}): Promise<{ ms: number }> {
  const dir = await mkdtemp(join(tmpdir(), "corral-nft-"));
  const file = join(dir, "corral.nft");
  try {
    await writeFile(file, text);
    const started = performance.now();
    const r = await exec(nftArgv([...(options.check ? ["-c"] : []), "-f", file], options.netns));
    const ms = performance.now() - started;
    if (r.code !== 0) {
      const verb = options.check ? "check" : "load";
      throw new NftError(`nft refused the ruleset (${verb}); nothing was changed:\n${r.stderr.trim()}`, r.stderr);
    }
    return { ms };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The loaded `table <family> corral`, or undefined when there is none. */
export async function listCorralTable(options: { netns?: string; family?: string } = {}): Promise<string | undefined> {
  const r = await exec(nftArgv(["list", "table", options.family ?? "inet", "corral"], options.netns));
  return r.code === 0 ? r.stdout : undefined;
}

/**
 * A digest of the loaded `table inet corral` without its counters (`nft -s`), or undefined when
 * there is none: equal digests mean nobody changed, flushed or deleted the rules since.
 */
export async function corralTableDigest(options: { netns?: string } = {}): Promise<string | undefined> {
  const r = await exec(nftArgv(["-s", "list", "table", "inet", "corral"], options.netns));
  return r.code === 0 ? createHash("sha256").update(r.stdout).digest("hex") : undefined;
}
