/**
 * Wiring of the viewer CA migration workflow: its dependencies from SDK clients, the viewer trust domains
 * (config/viewer-settings.ts) and the bundle bucket. Trust stores load their bundles from their own objects
 * under `viewer/cloudfront/<trust store id>.pem`; passthrough origins read the domain's `passthrough.bucketKey`
 * (and secret) with origin-sync. The proof reaches each passthrough origin as CloudFront does: the origin's
 * endpoint and origin-mTLS certificate from the distribution's configuration, the certificate's key from its
 * credential secret (only certificates this service rotated have one).
 */
import { ACMClient } from "@aws-sdk/client-acm";
import { CloudFrontClient } from "@aws-sdk/client-cloudfront";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { AcmAdapter, Pacer } from "../adapters/acm.ts";
import { CloudFrontAdapter } from "../adapters/cloudfront.ts";
import { Notifier } from "../adapters/notifier.ts";
import { PrivateCaAdapter } from "../adapters/private-ca.ts";
import { CredentialStore, isCompleteCredential, STAGE } from "../adapters/secrets.ts";
import { ViewerMigrationStore } from "../adapters/viewer-migration-store.ts";
import type { WiringSources } from "../config/links.ts";
import type { RotationSettings } from "../config/settings.ts";
import { readNamedLinks } from "../config/settings-links.ts";
import { VIEWER_TRUST_STORE_KEY_PREFIX, type ViewerTrustDomain } from "../config/viewer-settings.ts";
import type { PlannedDomain } from "../core/viewer-migration.ts";
import { issueProbeViewer, reusingProbeViewers, untrustedProbeViewer } from "../issuance/probe-viewer.ts";
import { type PassthroughOriginRef, proveViewerOrigins } from "../probe/viewer-probe.ts";
import { S3BundleTarget, SecretBundleTarget, type TrustTarget } from "../trust/publish-bundle.ts";
import { CloudFrontTrustStoreTarget } from "../trust/targets/cloudfront-trust-store.ts";
import { EVENT_SOURCE } from "../trust/targets/eventbridge.ts";
import { formatClientCertHeaders } from "../viewer/forwarded-certificate.ts";
import { credentialSecretFor } from "../workflow/phases/plan.ts";
import type {
  ViewerCaReadyDetail,
  ViewerMigrationDeps,
  ViewerMigrationStorePort,
} from "../workflow/viewer-migration.ts";
import type { AwsClients } from "./aws-clients.ts";
import { CLOUDFRONT_REGION, clientConfig, dynamoDbConfig, regionOfArn } from "./clients.ts";
import { deployed } from "./cold-start.ts";
import { logLine } from "./observability.ts";
import { privateCaClients } from "./private-ca-clients.ts";

export const VIEWER_CA_READY_DETAIL_TYPE = "ViewerCaReady";
export { VIEWER_TRUST_STORE_KEY_PREFIX };

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

  // One probe viewer per CA while it lasts, in this process only (issuance/probe-viewer.ts).
  const probeViewers = reusingProbeViewers((arn) => issueProbeViewer(privateCaOf(arn), arn), now);

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
    authorityIssuance: async (arn) => {
      const { status, lastStateChangeAt } = await privateCaOf(arn).issuanceOf(arn);
      return {
        authorityArn: arn,
        status,
        ...(lastStateChangeAt ? { lastStateChangeAt: lastStateChangeAt.toISOString() } : {}),
      };
    },
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
          issueProbeViewer: probeViewers,
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

// ---- deployed ----------------------------------------------------------------------------------------------

/** What infra/viewer-migration.ts links to the viewer CA migration workflow. */
export const VIEWER_WORKFLOW_LINKS = [
  "RotationTable",
  "TrustBundleBucket",
  "NotificationTopic",
  "RotationSettings",
  "ViewerSettings",
] as const;

/** The deployed workflow's configuration, from its links; WiringError lists every link missing or malformed. */
export interface ViewerWorkflowConfig {
  region: string;
  endpoint?: string;
  dynamodbEndpoint?: string;
  tableName: string;
  bucketName: string;
  topicArn: string;
  /** The bus of the ViewerCaReady event: the stage's trust event bus, else the account's default bus. */
  eventBus?: string;
  domains: ViewerTrustDomain[];
  settings: Pick<RotationSettings, "credentialSecretPrefix" | "originServerCaPem">;
}

export function viewerWorkflowConfig(sources: WiringSources): ViewerWorkflowConfig {
  const { links, location } = readNamedLinks(sources, VIEWER_WORKFLOW_LINKS);
  const { rotation, trust } = links.RotationSettings;
  return {
    ...location,
    tableName: links.RotationTable.name,
    bucketName: links.TrustBundleBucket.name,
    topicArn: links.NotificationTopic.arn,
    ...(trust.targets.eventBus ? { eventBus: trust.targets.eventBus } : {}),
    domains: links.ViewerSettings.domains,
    settings: {
      credentialSecretPrefix: rotation.credentialSecretPrefix,
      ...(rotation.originServerCaPem ? { originServerCaPem: rotation.originServerCaPem } : {}),
    },
  };
}

/**
 * The workflow's dependencies from a checked configuration: SDK clients built here, once per cold start —
 * only those of the services it calls (its bundle holds no other client, test/infra/lambda-bundles.test.ts).
 */
export function viewerWorkflowDepsFrom(config: ViewerWorkflowConfig): ViewerMigrationDeps {
  const privateCaIn = privateCaClients(config);
  const clients: ViewerMigrationWiring["clients"] = {
    acm: new ACMClient(clientConfig(config, CLOUDFRONT_REGION)),
    privateCa: privateCaIn(config.region),
    cloudfront: new CloudFrontClient(clientConfig(config, CLOUDFRONT_REGION)),
    secrets: new SecretsManagerClient(clientConfig(config)),
    // A custom endpoint (the stand-ins) is one host: buckets go in the path, not in a subdomain.
    s3: new S3Client({ ...clientConfig(config), forcePathStyle: config.endpoint !== undefined }),
    sns: new SNSClient(clientConfig(config)),
    eventbridge: new EventBridgeClient(clientConfig(config)),
  };
  return viewerMigrationDeps({
    domains: config.domains,
    clients,
    bucket: config.bucketName,
    // The bundle bucket is in the service region (infra/storage.ts).
    bucketRegion: config.region,
    store: new ViewerMigrationStore(new DynamoDBClient(dynamoDbConfig(config)), {
      tableName: config.tableName,
    }),
    topicArn: config.topicArn,
    ...(config.eventBus ? { eventBus: config.eventBus } : {}),
    settings: config.settings,
    forwardedHeaders: (leaf, chain) => formatClientCertHeaders(leaf, chain),
    // Each CA through a client of its own region.
    privateCaOf: (arn) => new PrivateCaAdapter(privateCaIn(regionOfArn(arn) ?? config.region)),
    log: logLine,
  });
}

/** The deployed workflow's dependencies, from SST's linked resources and the Lambda environment. */
export function buildViewerMigrationDeps(sources: WiringSources = deployed()): ViewerMigrationDeps {
  return viewerWorkflowDepsFrom(viewerWorkflowConfig(sources));
}
