/**
 * All AWS stand-ins behind one loopback endpoint, wired to each other as AWS wires the real services:
 * CloudFront checks origin-mTLS ARNs against ACM; ACM refuses to delete a certificate CloudFront uses.
 */
import {
  type AwsClientSettings,
  type AwsClients,
  createAwsClients,
} from "../functions/wiring/aws-clients.ts";
import { AcmStandin } from "./acm.ts";
import { ApiGatewayStandin } from "./apigateway.ts";
import type { BundleStore } from "./ca-bundle.ts";
import { CloudFrontStandin } from "./cloudfront.ts";
import { KeyValueStoreStandin } from "./cloudfront-keyvaluestore.ts";
import { CloudWatchStandin } from "./cloudwatch.ts";
import { Elbv2Standin } from "./elbv2.ts";
import { EventBridgeStandin } from "./eventbridge.ts";
import { PrivateCaStandin, type PrivateCaStandinOptions } from "./private-ca.ts";
import { ACCOUNT_ID } from "./protocol.ts";
import { S3Standin, type S3StandinOptions } from "./s3.ts";
import { SecretsManagerStandin } from "./secrets-manager.ts";
import { StandinServer, type StandinServerOptions } from "./server.ts";
import { SnsStandin } from "./sns.ts";

export interface StandinsOptions extends StandinServerOptions {
  /** Clock for validity checks and state transitions. */
  now?: () => Date;
  /** CloudFront: how long a change stays InProgress. */
  deployDelayMs?: number;
  /** CloudFront: how long a (viewer-mTLS) trust store write stays `pending`. */
  cloudfrontTrustStoreDelayMs?: number;
  privateCa?: Omit<PrivateCaStandinOptions, "now">;
  acmImportsPerSecond?: number;
  /** ACM's rate window, ms (default 1,000; a benchmark's scaled time passes 1000/k). */
  acmRateWindowMs?: number;
  s3?: Omit<S3StandinOptions, "now">;
  /** ELBv2: how long a new trust store stays CREATING. */
  trustStoreCreationDelayMs?: number;
  /**
   * CloudWatch: how long after its timestamp an AWS/* datapoint (CloudFront's 5xxErrorRate) becomes visible
   * to GetMetricData (default DEFAULT_AWS_METRICS_DELAY_MS, minutes; real-time tests and the sandbox pass a
   * second or two).
   */
  awsMetricsDelayMs?: number;
}

export interface Standins {
  server: StandinServer;
  endpoint: string;
  acm: AcmStandin;
  privateCa: PrivateCaStandin;
  cloudfront: CloudFrontStandin;
  /** CloudFront KeyValueStore data plane (the viewer revocation list). */
  keyValueStores: KeyValueStoreStandin;
  secrets: SecretsManagerStandin;
  s3: S3Standin;
  sns: SnsStandin;
  cloudwatch: CloudWatchStandin;
  elbv2: Elbv2Standin;
  eventbridge: EventBridgeStandin;
  apigateway: ApiGatewayStandin;
  /** Real SDK clients pointed at the stand-ins. */
  clients(overrides?: Partial<AwsClientSettings>): AwsClients;
  close(): Promise<void>;
}

export const STANDIN_CREDENTIALS = { accessKeyId: "AKIASTANDIN000000000", secretAccessKey: "standin-secret" };

export async function startStandins(options: StandinsOptions = {}): Promise<Standins> {
  const now = options.now ?? (() => new Date());
  const acm = new AcmStandin({
    now,
    importsPerSecond: options.acmImportsPerSecond,
    rateWindowMs: options.acmRateWindowMs,
  });
  const s3 = new S3Standin({ ...options.s3, now });
  // CA bundles as CloudFront trust stores and API Gateway truststores read them: an S3 object version.
  const bundles: BundleStore = {
    read: (bucket, key, versionId) => {
      const bucketRegion = s3.regionOf(bucket);
      const object = bucketRegion === undefined ? undefined : s3.object(bucket, key, versionId);
      return object && bucketRegion !== undefined
        ? { body: object.body, versionId: object.versionId, bucketRegion }
        : undefined;
    },
  };
  const cloudfront = new CloudFrontStandin({
    certificates: { describe: (arn) => acm.describeForCloudFront(arn) },
    deployDelayMs: options.deployDelayMs,
    now: () => now().getTime(),
    bundles,
    trustStoreDelayMs: options.cloudfrontTrustStoreDelayMs,
  });
  acm.referencedArns = () => cloudfront.referencedCertificateArns();
  acm.inUseBy = (arn) =>
    cloudfront
      .distributionsReferencing(arn)
      .map((id) => `arn:aws:cloudfront::${ACCOUNT_ID}:distribution/${id}`);
  const privateCa = new PrivateCaStandin({ ...options.privateCa, now });
  const secrets = new SecretsManagerStandin({ now });
  const sns = new SnsStandin();
  const cloudwatch = new CloudWatchStandin({ now, awsMetricsDelayMs: options.awsMetricsDelayMs });
  // ELB reads trust-store CA bundles from S3 when the call is made.
  const elbv2 = new Elbv2Standin({
    bundles,
    now: () => now().getTime(),
    creationDelayMs: options.trustStoreCreationDelayMs,
  });
  const eventbridge = new EventBridgeStandin({ now });
  const apigateway = new ApiGatewayStandin({ bundles, now });
  const keyValueStores = new KeyValueStoreStandin({ now });
  // REST services are offered requests in this order: CloudFront claims only /2020-05-31/ paths, S3, SNS and
  // API Gateway only requests signed for them (SigV4 scope); CloudWatch is a JSON service (X-Amz-Target).
  // KeyValueStore claims only /key-value-stores/ paths, which no other service has.
  // (Object.values keeps this order.)
  const services = {
    acm,
    privateCa,
    cloudfront,
    secrets,
    s3,
    sns,
    cloudwatch,
    elbv2,
    eventbridge,
    apigateway,
    keyValueStores,
  };
  const server = new StandinServer(Object.values(services), options);
  const endpoint = await server.listen();
  return {
    server,
    endpoint,
    ...services,
    clients: (overrides = {}) =>
      createAwsClients({ region: "us-east-1", endpoint, credentials: STANDIN_CREDENTIALS, ...overrides }),
    close: () => server.close(),
  };
}
