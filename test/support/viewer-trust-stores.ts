/**
 * Viewer mTLS fixtures shared by the stand-in, adapter, scan, API and CLI tests: a CloudFront trust store
 * created from a bundle put into the S3 stand-in (as an operator does), and the origin request policies the
 * viewer inventory judges (one forwarding both Client-Cert headers, one the leaf only, Managed-AllViewer).
 */
import { type CloudFrontClient, CreateTrustStoreCommand } from "@aws-sdk/client-cloudfront";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { OriginRequestPolicyHeaders } from "../../functions/core/viewer-inventory.ts";

/** A bundle CloudFront cannot load: one PEM block that is no certificate (the trust store goes `failed`). */
export const UNLOADABLE_BUNDLE = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

/** Puts `body` at `<name>.pem` in `bucket` (versioned, us-east-1) and creates trust store `name` from it. */
export async function createTrustStore(
  clients: { s3: S3Client; cloudfront: CloudFrontClient },
  bucket: string,
  name: string,
  body: string,
): Promise<{
  id: string;
  arn: string;
  /** Where its bundle came from (what a test restores the store to, as infrastructure made it). */
  location: { Bucket: string; Key: string; Region: string; Version: string };
}> {
  const key = `${name}.pem`;
  const put = await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const out = await clients.cloudfront.send(
    new CreateTrustStoreCommand({
      Name: name,
      CaCertificatesBundleSource: {
        CaCertificatesBundleS3Location: {
          Bucket: bucket,
          Key: key,
          Region: "us-east-1",
          Version: put.VersionId,
        },
      },
    }),
  );
  return {
    id: out.TrustStore!.Id!,
    arn: out.TrustStore!.Arn!,
    location: { Bucket: bucket, Key: key, Region: "us-east-1", Version: put.VersionId! },
  };
}

/** Policies as GetOriginRequestPolicy describes them, by id: `fwd` (both headers), `leaf` (Client-Cert only), `all` (allViewer). */
export const VIEWER_POLICIES: ReadonlyMap<string, OriginRequestPolicyHeaders> = new Map([
  [
    "fwd",
    {
      id: "fwd",
      name: "forward",
      headerBehavior: "whitelist",
      headers: ["client-cert", "client-cert-chain"],
    },
  ],
  ["leaf", { id: "leaf", name: "leaf-only", headerBehavior: "whitelist", headers: ["client-cert"] }],
  ["all", { id: "all", name: "Managed-AllViewer", headerBehavior: "allViewer", headers: [] }],
]);
