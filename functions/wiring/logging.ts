/** Structured log lines: one JSON object per line on stdout (CloudWatch Logs parses it). */
export function logLine(message: string, data?: Record<string, unknown>): void {
  console.log(JSON.stringify({ level: "INFO", message, ...data }));
}
