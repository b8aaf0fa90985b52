// The real credential values, read by the gate only: from its own environment or from files it
// can read (Docker secrets, a mounted directory). A file is read again when it changes and on
// reload (SIGHUP), so a rotated key is used from the next request on. A value that cannot be
// read keeps the last good one; a credential with no value makes its requests fail closed.
// Values are never logged: errors name the credential and the file, nothing else.
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { dirname } from "node:path";
import type { Policy } from "../../policy/schema.ts";

export interface ValueProblem {
  credential: string;
  message: string;
}

/** Trailing newlines of a secret file are not part of the key; anything else unprintable is refused. */
export function cleanValue(raw: string): string | { error: string } {
  const v = raw.replace(/[\r\n]+$/, "");
  if (v.length === 0) return { error: "is empty" };
  if (/[\u0000-\u001f\u007f]/.test(v)) return { error: "contains a control character (a header could be split on it)" };
  return v;
}

export class CredentialValues {
  private values = new Map<string, string>();
  private sources = new Map<string, { env: string } | { file: string }>();
  private watchers: FSWatcher[] = [];
  private readonly env: NodeJS.ProcessEnv;
  private readonly onProblem: (p: ValueProblem) => void;
  private readonly onRotate: (credential: string) => void;

  constructor(
    env: NodeJS.ProcessEnv,
    onProblem: (p: ValueProblem) => void,
    onRotate: (credential: string) => void = () => {},
  ) {
    this.env = env;
    this.onProblem = onProblem;
    this.onRotate = onRotate;
  }

  get(credential: string): string | undefined {
    return this.values.get(credential);
  }

  /** Whether any real value equals `text` (tests and redaction). */
  isRealValue(text: string): boolean {
    for (const v of this.values.values()) if (v === text) return true;
    return false;
  }

  /** Takes the policy's credentials (start and reload): reads every value, watches every file. */
  load(policy: Policy): void {
    this.sources = new Map(Object.entries(policy.credentials).map(([n, c]) => [n, c.value]));
    for (const name of [...this.values.keys()]) if (!this.sources.has(name)) this.values.delete(name);
    for (const name of this.sources.keys()) this.read(name);
    this.rewatch();
  }

  private read(name: string): void {
    const source = this.sources.get(name);
    if (!source) return;
    let raw: string | undefined;
    let where: string;
    if ("env" in source) {
      where = `environment variable ${source.env}`;
      raw = this.env[source.env];
    } else {
      where = `file ${source.file}`;
      try {
        raw = readFileSync(source.file, "utf8");
      } catch (err) {
        this.onProblem({
          credential: name,
          message: `${where}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`,
        });
        return;
      }
    }
    if (raw === undefined) {
      this.onProblem({ credential: name, message: `${where} is not set` });
      return;
    }
    const v = cleanValue(raw);
    if (typeof v !== "string") {
      this.onProblem({ credential: name, message: `${where} ${v.error}` });
      return;
    }
    const before = this.values.get(name);
    this.values.set(name, v);
    if (before !== undefined && before !== v) this.onRotate(name);
  }

  private rewatch(): void {
    this.close();
    const byDir = new Map<string, string[]>();
    for (const [name, s] of this.sources) {
      if (!("file" in s)) continue;
      const d = dirname(s.file);
      byDir.set(d, [...(byDir.get(d) ?? []), name]);
    }
    // The directory, not the file: secrets are replaced by rename (and Kubernetes swaps a symlink).
    for (const [d, names] of byDir) {
      try {
        const w = watch(d, { persistent: false }, () => {
          for (const n of names) this.read(n);
        });
        w.on("error", () => {});
        this.watchers.push(w);
      } catch {
        // Unwatchable (gone, or no permission): SIGHUP still re-reads.
      }
    }
  }

  close(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}
