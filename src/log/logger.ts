/**
 * The loggers of the server's areas, the one redactor every sink uses, and the logging of
 * configuration findings.
 */

import { getLogger, type Logger } from "@logtape/logtape";
import { type Finding, formatFinding } from "../config/mod.ts";
import { Redactor } from "./redact.ts";

/** The category every logger of the server sits under. */
export const ROOT = "pcs";

/** The logger of one area of the server (`config`, `channel`, `phones`, ...). */
export function log(area: string): Logger {
  return getLogger([ROOT, area]);
}

/** The redactor every sink uses; components add run-time secrets (tokens) to it. */
export const redactor = new Redactor();

/**
 * Logs every finding at its level, so the first start and each reload report a file alike.
 * A finding quotes the file (`got '{x}'`), so it is a value of the log line, never its template.
 */
export function logFindings(findings: readonly Finding[]): void {
  const logger = log("config");
  for (const f of findings) {
    const finding = formatFinding(f);
    if (f.level === "error") logger.error("{finding}", { finding });
    else if (f.level === "warning") logger.warning("{finding}", { finding });
    else logger.info("{finding}", { finding });
  }
}
