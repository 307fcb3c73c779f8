/**
 * Realistic CloudFront DistributionConfigs (the shape `@aws-sdk/client-cloudfront` takes and returns) with any
 * number of custom origins, some of them presenting an origin-mTLS client certificate; for tests and the
 * sandbox.
 *
 * The configs deliberately fill in many members the rotation service never touches (aliases, cache
 * behaviours, error responses, logging, viewer certificate, empty strings, zero-quantity lists) so that a
 * round trip through UpdateDistribution shows whether anything besides the certificate ARN moved.
 */
import { randomUUID } from "node:crypto";
import type {
  CustomOriginConfig,
  DistributionConfig,
  Origin,
  OriginRequestPolicyConfig,
} from "@aws-sdk/client-cloudfront";

export const TEST_ACCOUNT_ID = "111122223333";

/** Managed-CachingOptimized and Managed-AllViewerExceptHostHeader policy ids, as a real config has them. */
const CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6";
const ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac";

export interface DistributionConfigOptions {
  /** Default: a fresh random reference. */
  callerReference?: string;
  /** Number of custom origins (ids "origin-1", "origin-2", ...). Default 2. */
  origins?: number;
  /** Origin-mTLS certificate ARN per origin, by position; undefined (or missing) = no mTLS for that origin. */
  mtlsArns?: Array<string | undefined>;
  comment?: string;
  enabled?: boolean;
}

/** "origin-1", "origin-2", ... */
export function originId(index: number): string {
  return `origin-${index + 1}`;
}

/** An ACM certificate ARN for tests; `label` makes it unique and readable. */
export function certificateArn(label: string, region = "us-east-1"): string {
  return `arn:aws:acm:${region}:${TEST_ACCOUNT_ID}:certificate/${label}`;
}

export function buildDistributionConfig(options: DistributionConfigOptions = {}): DistributionConfig {
  const count = options.origins ?? 2;
  if (count < 1) throw new Error("a distribution needs at least one origin");
  const origins = Array.from({ length: count }, (_, i) => customOrigin(i, options.mtlsArns?.[i]));
  const lastOrigin = originId(count - 1);

  return {
    CallerReference: options.callerReference ?? `standin-${randomUUID()}`,
    Aliases: { Quantity: 2, Items: ["www.example.com", "example.com"] },
    DefaultRootObject: "index.html",
    Origins: { Quantity: origins.length, Items: origins },
    OriginGroups: { Quantity: 0 },
    DefaultCacheBehavior: {
      TargetOriginId: originId(0),
      TrustedSigners: { Enabled: false, Quantity: 0 },
      TrustedKeyGroups: { Enabled: false, Quantity: 0 },
      ViewerProtocolPolicy: "redirect-to-https",
      AllowedMethods: {
        Quantity: 3,
        Items: ["HEAD", "GET", "OPTIONS"],
        CachedMethods: { Quantity: 2, Items: ["HEAD", "GET"] },
      },
      SmoothStreaming: false,
      Compress: true,
      LambdaFunctionAssociations: { Quantity: 0 },
      FunctionAssociations: { Quantity: 0 },
      FieldLevelEncryptionId: "",
      CachePolicyId: CACHING_OPTIMIZED,
      OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
    },
    CacheBehaviors: {
      Quantity: 1,
      Items: [
        {
          PathPattern: "/api/*",
          TargetOriginId: lastOrigin,
          TrustedSigners: { Enabled: false, Quantity: 0 },
          TrustedKeyGroups: { Enabled: false, Quantity: 0 },
          ViewerProtocolPolicy: "https-only",
          AllowedMethods: {
            Quantity: 7,
            Items: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
            CachedMethods: { Quantity: 2, Items: ["HEAD", "GET"] },
          },
          SmoothStreaming: false,
          Compress: false,
          LambdaFunctionAssociations: { Quantity: 0 },
          FunctionAssociations: { Quantity: 0 },
          FieldLevelEncryptionId: "",
          CachePolicyId: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
          OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
        },
      ],
    },
    CustomErrorResponses: {
      Quantity: 1,
      Items: [
        { ErrorCode: 503, ResponsePagePath: "/errors/503.html", ResponseCode: "503", ErrorCachingMinTTL: 10 },
      ],
    },
    Comment: options.comment ?? "mtls-rotator stand-in fixture",
    Logging: { Enabled: false, IncludeCookies: false, Bucket: "", Prefix: "" },
    PriceClass: "PriceClass_100",
    Enabled: options.enabled ?? true,
    ViewerCertificate: {
      CloudFrontDefaultCertificate: false,
      ACMCertificateArn: certificateArn("viewer-www-example-com"),
      SSLSupportMethod: "sni-only",
      MinimumProtocolVersion: "TLSv1.2_2021",
      Certificate: certificateArn("viewer-www-example-com"),
      CertificateSource: "acm",
    },
    Restrictions: { GeoRestriction: { RestrictionType: "blacklist", Quantity: 2, Items: ["KP", "IR"] } },
    WebACLId: "",
    HttpVersion: "http2and3",
    IsIPV6Enabled: true,
    ContinuousDeploymentPolicyId: "",
    Staging: false,
  };
}

function customOrigin(index: number, mtlsArn: string | undefined): Origin {
  const custom: CustomOriginConfig = {
    HTTPPort: 80,
    HTTPSPort: 443,
    OriginProtocolPolicy: "https-only",
    OriginSslProtocols: { Quantity: 1, Items: ["TLSv1.2"] },
    OriginReadTimeout: 30,
    OriginKeepaliveTimeout: 5,
    IpAddressType: "ipv4",
  };
  if (mtlsArn !== undefined) custom.OriginMtlsConfig = { ClientCertificateArn: mtlsArn };
  return {
    Id: originId(index),
    DomainName: `${originId(index)}.backend.example.com`,
    OriginPath: "",
    CustomHeaders: {
      Quantity: 1,
      Items: [{ HeaderName: "X-Origin-Verify", HeaderValue: `secret-${index + 1}` }],
    },
    CustomOriginConfig: custom,
    ConnectionAttempts: 3,
    ConnectionTimeout: 10,
    OriginShield: { Enabled: false },
    OriginAccessControlId: "",
  };
}

/**
 * A deep copy of `config` in which origin `id` presents `arn` (or no client certificate when undefined).
 * Throws when the origin does not exist or is not a custom origin.
 */
export function withOriginCertificate(
  config: DistributionConfig,
  id: string,
  arn: string | undefined,
): DistributionConfig {
  const copy = structuredClone(config);
  const origin = copy.Origins?.Items?.find((o) => o.Id === id);
  if (!origin?.CustomOriginConfig) throw new Error(`no custom origin '${id}' in this config`);
  if (arn === undefined) delete origin.CustomOriginConfig.OriginMtlsConfig;
  else origin.CustomOriginConfig.OriginMtlsConfig = { ClientCertificateArn: arn };
  return copy;
}

/** Origin id -> origin-mTLS certificate ARN, as read from a config object. */
export function originCertificatesOf(config: DistributionConfig): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const origin of config.Origins?.Items ?? []) {
    if (origin.Id !== undefined)
      out[origin.Id] = origin.CustomOriginConfig?.OriginMtlsConfig?.ClientCertificateArn;
  }
  return out;
}

/**
 * An origin request policy for a passthrough viewer-mTLS distribution: it forwards the viewer's certificate
 * (`Client-Cert`, `Client-Cert-Chain`, which CloudFront makes and sends only when listed) and `X-Request-Id`.
 */
export function clientCertOriginRequestPolicy(name: string): OriginRequestPolicyConfig {
  return {
    Name: name,
    Comment: "forwards the viewer certificate to the origin",
    HeadersConfig: {
      HeaderBehavior: "whitelist",
      Headers: { Quantity: 3, Items: ["Client-Cert", "Client-Cert-Chain", "X-Request-Id"] },
    },
    CookiesConfig: { CookieBehavior: "none" },
    QueryStringsConfig: { QueryStringBehavior: "none" },
  };
}
