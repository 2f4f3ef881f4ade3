/**
 * Findings: what a parse of a configuration or profile file has to say, with the place it
 * refers to. Errors stop a file from being used, warnings and infos do not.
 */

/** How serious a finding is. `info` is for accepted-but-ignored vendor keys (docs/configuration.md §1). */
export type FindingLevel = "error" | "warning" | "info";

/** One thing worth telling the user about a file, pointing at its line where there is one. */
export interface Finding {
  readonly level: FindingLevel;
  readonly file: string;
  readonly line?: number;
  readonly key?: string;
  readonly message: string;
}

/** Collects the findings of one file as a parse goes along. */
export class FindingList {
  readonly file: string;
  readonly all: Finding[] = [];

  constructor(file: string) {
    this.file = file;
  }

  error(line: number | undefined, key: string | undefined, message: string): void {
    this.all.push({ level: "error", file: this.file, line, key, message });
  }

  warning(line: number | undefined, key: string | undefined, message: string): void {
    this.all.push({ level: "warning", file: this.file, line, key, message });
  }

  info(line: number | undefined, key: string | undefined, message: string): void {
    this.all.push({ level: "info", file: this.file, line, key, message });
  }

  /** True when any error was found. */
  get failed(): boolean {
    return hasErrors(this.all);
  }
}

/** `file:line: message`, the form editors and the config contract use. */
export function formatFinding(f: Finding): string {
  const where = f.line === undefined ? f.file : `${f.file}:${f.line}`;
  return `${where}: ${f.message}`;
}

/** True when any finding is an error. */
export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.level === "error");
}

/**
 * A file that cannot be used, with the place that makes it so. Thrown only at the edges
 * (reading files); parsers return findings instead.
 */
export class ConfigError extends Error {
  readonly file: string;
  readonly line?: number;
  constructor(file: string, message: string, options?: { line?: number; cause?: unknown }) {
    super(
      options?.line === undefined ? `${file}: ${message}` : `${file}:${options.line}: ${message}`,
      { cause: options?.cause },
    );
    this.name = "ConfigError";
    this.file = file;
    this.line = options?.line;
  }
}
