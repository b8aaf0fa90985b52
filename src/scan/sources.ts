// The text of the scanned files, split into lines once: suppressions, fingerprints and the text
// report all read from it. Filled by the CLI shell; plain data for the pure core.
export type Sources = ReadonlyMap<string, readonly string[]>;

export function sourcesFrom(texts: Record<string, string>): Sources {
  return new Map(Object.entries(texts).map(([file, text]) => [file, text.split(/\r?\n/)]));
}

/** 1-based line, or undefined when the file or line is unknown. */
export function lineAt(sources: Sources, file: string, line: number): string | undefined {
  return sources.get(file)?.[line - 1];
}
