/**
 * Every SDK client the rotation workflow uses (and the stand-ins hand to tests). The other functions do not
 * import this module: their wiring constructs the few clients each calls.
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
import { CLOUDFRONT_REGION, type ClientSettings, clientConfig } from "./clients.ts";

export interface AwsClientSettings extends ClientSettings {
  /** Region of the Private CA replacements are issued from (default: the service's region). */
  privateCaRegion?: string;
}

export interface AwsClients {
  acm: ACMClient;
  /**
   * ACM for ImportCertificate alone: one attempt, no SDK retry (adapters/acm.ts says why: the workflow paces
   * imports account-wide and re-slots a throttled one).
   */
  acmImport: ACMClient;
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

/** Every client, built once (one per container) and passed into the adapters. */
export function createAwsClients(settings: AwsClientSettings): AwsClients {
  const config = (region?: string) => clientConfig(settings, region);
  return {
    acm: new ACMClient(config(CLOUDFRONT_REGION)),
    acmImport: new ACMClient({ ...config(CLOUDFRONT_REGION), maxAttempts: 1 }),
    // client-acm-pca is capped at 3.523.0 on this registry: its config types come from an older @smithy,
    // but the options used here are plain data and accepted by both.
    privateCa: new ACMPCAClient(config(settings.privateCaRegion ?? settings.region)),
    cloudfront: new CloudFrontClient(config(CLOUDFRONT_REGION)),
    secrets: new SecretsManagerClient(config()),
    // A custom endpoint (the stand-ins) is one host: buckets go in the path, not in a subdomain.
    s3: new S3Client({ ...config(), forcePathStyle: settings.endpoint !== undefined }),
    sns: new SNSClient(config()),
    cloudwatch: new CloudWatchClient(config(CLOUDFRONT_REGION)),
    elbv2: new ElasticLoadBalancingV2Client(config()),
    eventbridge: new EventBridgeClient(config()),
    apigateway: new ApiGatewayV2Client(config()),
  };
}
