/**
 * AWS SDK clients, built once per cold start and passed into the adapters. ACM, CloudFront and CloudWatch are
 * pinned to us-east-1: origin-mTLS certificates must be imported there, CloudFront's control plane lives
 * there, and so do the AWS/CloudFront metrics the health gate reads.
 */
import { ACMClient } from "@aws-sdk/client-acm";
import { ACMPCAClient } from "@aws-sdk/client-acm-pca";
import { ApiGatewayV2Client } from "@aws-sdk/client-apigatewayv2";
import { CloudFrontClient } from "@aws-sdk/client-cloudfront";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";

export const CLOUDFRONT_REGION = "us-east-1";

export interface AwsClientSettings {
  /** Region of the service itself (secrets, table, bundle bucket, topic, Private CA unless `privateCaRegion`). */
  region: string;
  privateCaRegion?: string;
  /** Send every client to one endpoint (the local stand-ins); otherwise the SDK's own resolution applies. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per call including the first (SDK standard retry: throttling, 5xx, timeouts). Default 5. */
  maxAttempts?: number;
  /** Per-request socket timeout; without one a hung connection would hang the rotation. Default 10 s. */
  requestTimeoutMs?: number;
}

export interface AwsClients {
  acm: ACMClient;
  privateCa: ACMPCAClient;
  cloudfront: CloudFrontClient;
  secrets: SecretsManagerClient;
  /** The versioned trust-bundle bucket. */
  s3: S3Client;
  /** The notification topic. */
  sns: SNSClient;
  /** us-east-1: where AWS/CloudFront metrics live. */
  cloudwatch: CloudWatchClient;
  /** ALB trust stores (trust target), in the service's region. */
  elbv2: ElasticLoadBalancingV2Client;
  /** TrustBundlePublished events (trust target), in the service's region. */
  eventbridge: EventBridgeClient;
  /** API Gateway (HTTP APIs) custom domains whose mTLS truststore is a trust target, in the service's region. */
  apigateway: ApiGatewayV2Client;
}

export function createAwsClients(settings: AwsClientSettings): AwsClients {
  const common = {
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
  return {
    acm: new ACMClient({ ...common, region: CLOUDFRONT_REGION }),
    // client-acm-pca is capped at 3.523.0 on this registry: its config types come from an older @smithy,
    // but the options used here are plain data and accepted by both.
    privateCa: new ACMPCAClient({ ...common, region: settings.privateCaRegion ?? settings.region }),
    cloudfront: new CloudFrontClient({ ...common, region: CLOUDFRONT_REGION }),
    secrets: new SecretsManagerClient({ ...common, region: settings.region }),
    // A custom endpoint (the stand-ins) is one host: buckets go in the path, not in a subdomain.
    s3: new S3Client({ ...common, region: settings.region, forcePathStyle: settings.endpoint !== undefined }),
    sns: new SNSClient({ ...common, region: settings.region }),
    cloudwatch: new CloudWatchClient({ ...common, region: CLOUDFRONT_REGION }),
    elbv2: new ElasticLoadBalancingV2Client({ ...common, region: settings.region }),
    eventbridge: new EventBridgeClient({ ...common, region: settings.region }),
    apigateway: new ApiGatewayV2Client({ ...common, region: settings.region }),
  };
}

export function regionOfArn(arn: string): string | undefined {
  return arn.split(":")[3] || undefined;
}
