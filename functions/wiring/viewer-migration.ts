/**
 * Wiring of the viewer CA migration workflow: its dependencies from SDK clients, the viewer trust domains
 * (config/viewer-settings.ts) and the bundle bucket. Trust stores load their bundles from their own objects
 * under `viewer/cloudfront/<trust store id>.pem`; passthrough origins read the domain's `passthrough.bucketKey`
 * (and secret) with origin-sync. The proof reaches each passthrough origin as CloudFront does: the origin's
 * endpoint and origin-mTLS certificate from the distribution's configuration, the certificate's key from its
 * credential secret (only certificates this service rotated have one).
 */
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { AcmAdapter, Pacer } from "../adapters/acm.ts";
import { CloudFrontAdapter } from "../adapters/cloudfront.ts";
import { Notifier } from "../adapters/notifier.ts";
import { PrivateCaAdapter } from "../adapters/private-ca.ts";
import { CredentialStore, isCompleteCredential, STAGE } from "../adapters/secrets.ts";
import type { RotationSettings } from "../config/settings.ts";
import type { ViewerTrustDomain } from "../config/viewer-settings.ts";
import type { PlannedDomain } from "../core/viewer-migration.ts";
import { issueProbeViewer, untrustedProbeViewer } from "../issuance/probe-viewer.ts";
import { type PassthroughOriginRef, proveViewerOrigins } from "../probe/viewer-probe.ts";
import { S3BundleTarget, SecretBundleTarget, type TrustTarget } from "../trust/publish-bundle.ts";
import { CloudFrontTrustStoreTarget } from "../trust/targets/cloudfront-trust-store.ts";
import { EVENT_SOURCE } from "../trust/targets/eventbridge.ts";
import { credentialSecretFor } from "../workflow/phases/plan.ts";
import type {
  ViewerCaReadyDetail,
  ViewerMigrationDeps,
  ViewerMigrationStorePort,
} from "../workflow/viewer-migration.ts";
import type { AwsClients } from "./aws-clients.ts";

export const VIEWER_CA_READY_DETAIL_TYPE = "ViewerCaReady";
export const VIEWER_TRUST_STORE_KEY_PREFIX = "viewer/cloudfront";

export interface ViewerMigrationWiring {
  domains: readonly ViewerTrustDomain[];
  clients: Pick<AwsClients, "acm" | "privateCa" | "cloudfront" | "secrets" | "s3" | "sns" | "eventbridge">;
  /** The versioned bundle bucket and its region. */
  bucket: string;
  bucketRegion: string;
  store: ViewerMigrationStorePort;
  topicArn: string;
  /** The bus the ViewerCaReady event goes to ("default" when absent). */
  eventBus?: string;
  settings: Pick<RotationSettings, "credentialSecretPrefix" | "originServerCaPem">;
  /** RFC 9440 headers for a forwarded viewer certificate (viewer/forwarded-certificate.ts). */
  forwardedHeaders(leafPem: string, chainPems: string[]): Record<string, string>;
  /** The Private CA client of a CA's region (default: `clients.privateCa`). */
  privateCaOf?: (authorityArn: string) => PrivateCaAdapter;
  trustStorePolling?: { pollIntervalMs?: number; activationTimeoutMs?: number };
  probeTimeoutMs?: number;
  now?: () => Date;
  log?: ViewerMigrationDeps["log"];
}

export function viewerMigrationDeps(w: ViewerMigrationWiring): ViewerMigrationDeps {
  const now = w.now ?? (() => new Date());
  const privateCaOf = w.privateCaOf ?? (() => new PrivateCaAdapter(w.clients.privateCa));
  const cloudfront = new CloudFrontAdapter(w.clients.cloudfront);
  const acm = new AcmAdapter(w.clients.acm, new Pacer(0));
  const credentials = new CredentialStore(w.clients.secrets, {});
  const notifier = new Notifier(w.clients.sns, w.topicArn);

  const originConnection = async (ref: PassthroughOriginRef) => {
    const [endpoint] = await cloudfront.originEndpoints(ref.distributionId, [ref.originId]);
    if (!endpoint?.clientCertificateArn)
      return { error: `origin ${ref.distributionId}/${ref.originId} has no origin-mTLS certificate` };
    const arn = endpoint.clientCertificateArn;
    const secret = credentialSecretFor(w.settings as RotationSettings, arn, await acm.tagsOf(arn));
    const stage = await credentials.readCredentialStage(secret, STAGE.current);
    if (!stage || !isCompleteCredential(stage.value) || stage.value.certificateArn !== arn)
      return {
        error: `no credential of ${arn} in ${secret}: the service cannot present CloudFront's certificate`,
      };
    return {
      endpoint: {
        target: ref.name,
        host: endpoint.domainName,
        port: endpoint.httpsPort,
        path: `${endpoint.originPath}${ref.path}`,
      },
      identity: {
        certificatePem: stage.value.certificatePem,
        chainPem: stage.value.chainPem,
        privateKeyPem: stage.value.privateKeyPem,
      },
    };
  };

  return {
    domains: w.domains,
    now,
    authorityChainPem: (arn) => privateCaOf(arn).authorityChainPem(arn),
    trustStore: (trustStoreId) =>
      new CloudFrontTrustStoreTarget({
        cloudfront: w.clients.cloudfront,
        s3: w.clients.s3,
        trustStoreId,
        bucket: w.bucket,
        key: `${VIEWER_TRUST_STORE_KEY_PREFIX}/${trustStoreId}.pem`,
        bucketRegion: w.bucketRegion,
        ...w.trustStorePolling,
      }),
    passthroughTargets: (domain) => passthroughTargets(w, domain),
    proveOrigins: (domain, authorityArn) =>
      proveViewerOrigins(
        {
          issueProbeViewer: (arn) => issueProbeViewer(privateCaOf(arn), arn),
          untrustedViewer: () => untrustedProbeViewer(),
          originConnection,
          forwardedHeaders: w.forwardedHeaders,
          ...(w.settings.originServerCaPem ? { originServerCaPem: w.settings.originServerCaPem } : {}),
          ...(w.probeTimeoutMs ? { timeoutMs: w.probeTimeoutMs } : {}),
        },
        domain.passthrough?.origins ?? [],
        authorityArn,
      ),
    store: w.store,
    notify: (notification) => notifier.publish(notification),
    announce: (detail) => putViewerCaReady(w, detail),
    ...(w.log ? { log: w.log } : {}),
  };
}

function passthroughTargets(w: ViewerMigrationWiring, domain: PlannedDomain): TrustTarget[] {
  if (!domain.passthrough) return [];
  return [
    new S3BundleTarget(w.clients.s3, w.bucket, domain.passthrough.bucketKey),
    ...(domain.passthrough.bundleSecretName
      ? [new SecretBundleTarget(w.clients.secrets, domain.passthrough.bundleSecretName)]
      : []),
  ];
}

async function putViewerCaReady(w: ViewerMigrationWiring, detail: ViewerCaReadyDetail): Promise<void> {
  const text = JSON.stringify(detail);
  if (text.includes("-----BEGIN"))
    throw new Error("refusing to put PEM material into the ViewerCaReady event");
  const out = await w.clients.eventbridge.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: EVENT_SOURCE,
          DetailType: VIEWER_CA_READY_DETAIL_TYPE,
          Detail: text,
          EventBusName: w.eventBus ?? "default",
          Resources: [detail.authorityArn],
        },
      ],
    }),
  );
  const entry = out.Entries?.[0];
  if (out.FailedEntryCount || !entry?.EventId)
    throw new Error(`PutEvents refused the ViewerCaReady event: ${entry?.ErrorCode ?? "no result"}`);
}
