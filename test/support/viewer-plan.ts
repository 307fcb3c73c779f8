/**
 * A viewer CA migration's plan with every field it can have (functions/core/viewer-migration.ts
 * ViewerMigrationPlan): `partners` moving from one CA to the next, two trust stores in waves (the canary
 * first), one passthrough origin with a bundle secret. Shared by the contract's tests and the CLI's.
 */
import type { ViewerMigrationPlan } from "../../functions/core/viewer-migration.ts";

const DAY_MS = 86_400_000;

export function partnersPlan(o: { from: string; to: string; now: Date }): ViewerMigrationPlan {
  const days = (n: number) => new Date(o.now.getTime() + n * DAY_MS).toISOString();
  return {
    domain: "partners",
    settings: {
      name: "partners",
      trustStoreIds: ["TS-CANARY", "TS-REST"],
      passthrough: {
        bucketKey: "viewer-trust/partners.pem",
        bundleSecretName: "mtls-rotator/test/viewer/partners",
        origins: [{ name: "partner-api", distributionId: "E1PASSTHROUGH1", originId: "api", path: "/" }],
      },
      maxViewerCertificateLifetimeDays: 397,
      retirementGraceSeconds: 604_800,
      proofTimeoutSeconds: 1800,
      proofIntervalSeconds: 30,
      approval: "before-announce",
      approvalTimeoutSeconds: 86_400,
    },
    authorities: { kept: [o.from], added: [o.to], removed: [] },
    before: { sha256: "1".repeat(64) },
    action: "migrate",
    fromAuthorityArns: [o.from],
    toAuthorityArn: o.to,
    bundle: {
      sha256: "ab12cd34ef56".padEnd(64, "0"),
      certificates: [
        { subject: "CN=Partner Viewers CA A", fingerprint: "a1".repeat(32), notAfter: days(400) },
        { subject: "CN=Partner Viewers CA B", fingerprint: "b2".repeat(32), notAfter: days(3000) },
      ],
      bytes: 2_480,
    },
    trustStoreWaves: [["TS-CANARY"], ["TS-REST"]],
    passthrough: { bundleTargets: ["s3://acme-trust/viewer-trust/partners.pem"], origins: ["partner-api"] },
    retirement: {
      afterAnnouncementSeconds: 397 * 86_400 + 604_800,
      earliestIfAnnouncedNow: days(404),
      note: "the longest viewer certificate lifetime (397 days) plus 7 days of grace",
    },
  };
}
