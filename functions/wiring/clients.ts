/**
 * The one factory of AWS SDK client settings: every client of every function is built with these (retries,
 * timeouts, the local stand-ins' endpoint), once per cold start, and passed into the adapters. It imports no
 * SDK client itself, so each Lambda bundles only the clients its wiring constructs.
 *
 * ACM, CloudFront and CloudWatch are pinned to us-east-1: origin-mTLS certificates must be imported there,
 * CloudFront's control plane lives there, and so do the AWS/CloudFront metrics the health gate reads.
 */
import type { AwsLocation } from "../config/links.ts";

export { regionOfArn } from "../config/rules.ts";

export const CLOUDFRONT_REGION = "us-east-1";

export interface ClientSettings {
  /** Region of the service itself (secrets, table, bundle bucket, topic, Private CA unless elsewhere). */
  region: string;
  /** Send the client to one endpoint (the local stand-ins); otherwise the SDK's own resolution applies. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per call including the first (SDK standard retry: throttling, 5xx, timeouts). Default 5. */
  maxAttempts?: number;
  /** Per-request socket timeout; without one a hung connection would hang the rotation. Default 10 s. */
  requestTimeoutMs?: number;
}

/** The configuration every SDK client is constructed with; `region` overrides the service's region. */
export function clientConfig(settings: ClientSettings, region: string = settings.region) {
  return {
    region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    maxAttempts: settings.maxAttempts ?? 5,
    // throwOnRequestTimeout: without it the current @smithy/node-http-handler only logs a warning when
    // requestTimeout passes and the call hangs on; the older handler under client-acm-pca ignores the flag
    // and always throws.
    requestHandler: {
      requestTimeout: settings.requestTimeoutMs ?? 10_000,
      connectionTimeout: 3_000,
      throwOnRequestTimeout: true,
    },
  };
}

/** The rotation table's client settings: its own endpoint locally (dynalite serves it apart). */
export function dynamoDbConfig(location: AwsLocation) {
  return clientConfig({
    region: location.region,
    ...(location.dynamodbEndpoint ? { endpoint: location.dynamodbEndpoint } : {}),
  });
}
