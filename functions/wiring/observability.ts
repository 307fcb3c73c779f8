/**
 * Logs and metrics of every function, with Powertools for AWS Lambda: structured JSON lines (service,
 * timestamp, level, the Lambda context's request id and cold start once a handler adds it, correlation ids),
 * the level from the environment (POWERTOOLS_LOG_LEVEL, else Lambda's AWS_LAMBDA_LOG_LEVEL, else INFO), and
 * CloudWatch metrics in the embedded metric format (EMF), namespace `mtls-rotator`.
 *
 * Nothing here ever receives key material: callers log ARNs, serials, ids and counts only.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

export const SERVICE = "mtls-rotator";
export const METRICS_NAMESPACE = "mtls-rotator";

/** One logger per container. */
export const logger = new Logger({ serviceName: SERVICE });

export type LogLevel = "INFO" | "WARN" | "ERROR";

/** The one signature of a structured log line: level, message, and fields of its own. */
export type LogFn = (level: LogLevel, message: string, data?: Record<string, unknown>) => void;

/** A structured line at `level`; `data`'s fields become the line's own keys. */
export const log: LogFn = (level, message, data = {}) => {
  if (level === "ERROR") logger.error(message, data);
  else if (level === "WARN") logger.warn(message, data);
  else logger.info(message, data);
};

/** An INFO line (the shape the workflow's and the scan's `log` dependency has). */
export function logLine(message: string, data?: Record<string, unknown>): void {
  log("INFO", message, data);
}

/** Counts as one EMF document (Powertools' serializer), timestamped `now`. */
export function metricsDocument(counts: Record<string, number>, now: Date): string {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE });
  metrics.setTimestamp(now);
  for (const [name, value] of Object.entries(counts)) metrics.addMetric(name, MetricUnit.Count, value);
  const document = metrics.serializeMetrics();
  metrics.clearMetrics();
  return JSON.stringify(document);
}

/** Where EMF documents go by default: stdout, one line each (CloudWatch Logs extracts the metrics). */
export function writeMetricsLine(line: string): void {
  process.stdout.write(`${line}\n`);
}
