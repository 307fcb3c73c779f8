/**
 * The world of a viewer CA migration on this machine: the AWS stand-ins (CloudFront with trust stores that
 * load bundles from S3 versions and validate them asynchronously, the Private CA, ACM, Secrets Manager, SNS,
 * EventBridge) and dynalite; viewer CAs A (in service) and B (viewers move to it) as Private CAs with real
 * keys; CloudFront's origin-mTLS credential (imported in ACM, its key in its credential secret, as a
 * rotation leaves it); real TLS origins on 127.0.0.1 that accept only CloudFront's certificate — and, for
 * distributions in passthrough mode, the viewer certificate CloudFront forwards (RFC 9440), checked by the
 * passthrough kit (functions/viewer/middleware.ts) against the viewer bundle the real `origin-sync` keeps
 * in step with the domain's published bundle.
 *
 * Used by the sandbox's viewer scenarios (sandbox/viewer-runner.ts) and the workflow's passthrough tests.
 * Keys stay in this process; nothing here prints or returns one except to the viewer edge that presents it.
 */
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import {
  CreateDistributionCommand,
  CreateOriginRequestPolicyCommand,
  CreateTrustStoreCommand,
} from "@aws-sdk/client-cloudfront";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { AcmAdapter, Pacer } from "../functions/adapters/acm.ts";
import { CredentialStore, tokenFor } from "../functions/adapters/secrets.ts";
import { ViewerMigrationStore } from "../functions/adapters/viewer-migration-store.ts";
import { type ViewerTrustDomainInput, ViewerTrustDomainSchema } from "../functions/config/viewer-settings.ts";

import { originSync } from "../functions/origin-sync/origin-sync.ts";
import { formatClientCertHeaders } from "../functions/viewer/forwarded-certificate.ts";
import { viewerCertificateMiddleware } from "../functions/viewer/middleware.ts";
import { viewerMigrationDeps } from "../functions/wiring/viewer-migration.ts";
import { credentialSecretName } from "../functions/workflow/phases/plan.ts";
import type { ViewerMigrationDeps } from "../functions/workflow/viewer-migration.ts";
import { buildDistributionConfig, clientCertOriginRequestPolicy } from "../standins/distribution-config.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../standins/dynamodb.ts";
import { type Standins, startStandins } from "../standins/index.ts";
import {
  type CertificateAuthority,
  createRootCa,
  createSubordinateCa,
  type IssuedCredential,
  issueClientCredential,
  issueServerCredential,
} from "../standins/pki.ts";

export const VIEWER_BUCKET = "mtls-rotator-trust";
const TABLE = "mtls-rotator";
const CREDENTIAL_PREFIX = "mtls-rotator/credentials/";
export type ViewerMtlsMode = "required" | "optional" | "passthrough";

export interface ViewerWorldOptions {
  /** Names of the CloudFront trust stores (created from CA A's bundle, active before anything starts). */
  trustStores: string[];
  distributions: Array<{ name: string; mode: ViewerMtlsMode; trustStore?: string }>;
  /** CA certificates in CA B's chain, root included (default 2: root + issuing; CloudFront allows 4). */
  nextChainDepth?: number;
  /** How long a trust store stays `pending` after a write (default 300 ms). */
  trustStoreDelayMs?: number;
  /** How often each passthrough origin runs origin-sync for its viewer bundle (default 300 ms). */
  syncIntervalMs?: number;
  /** Where the domain's passthrough bundle is published. */
  passthroughBundleKey?: string;
  /** Progress lines. */
  log?: (line: string) => void;
  /**
   * false: passthrough origins answer CloudFront's certificate without checking the forwarded viewer one (a
   * misconfigured origin, which the proof must not count as accepting the new CA). Default true.
   */
  passthroughChecksViewers?: boolean;
}

export interface ViewerAuthority {
  arn: string;
  /** The issuing CA (viewers' certificates come from it). */
  issuing: CertificateAuthority;
  /** What a viewer sends besides its leaf: the issuing CA and any CA short of the root. */
  presentedChainPem: string;
  name: string;
}

export interface ViewerWorldDistribution {
  name: string;
  id: string;
  mode: ViewerMtlsMode;
  trustStoreId?: string;
  originPort: number;
}

export interface ViewerWorld {
  standins: Standins;
  store: ViewerMigrationStore;
  topicArn: string;
  a: ViewerAuthority;
  b: ViewerAuthority;
  trustStoreIds: Record<string, string>;
  distributions: ViewerWorldDistribution[];
  /** The origins' server CA (the edge trusts it for the origins' certificates). */
  originServerCaPem: string;
  passthroughBundleKey: string;
  /** A viewer of `authority` (its key stays in memory). */
  viewer(authority: ViewerAuthority, name: string): Promise<IssuedCredential>;
  /** The domain as a stage would configure it, with `overrides`. */
  domain(overrides?: Partial<ViewerTrustDomainInput>): ViewerTrustDomainInput;
  deps(domain: ViewerTrustDomainInput, options?: { now?: () => Date }): ViewerMigrationDeps;
  /** Passthrough origins' origin-sync runs so far (and failures). */
  syncs(): { runs: number; updates: number; failures: number };
  close(): Promise<void>;
}

export async function buildViewerWorld(options: ViewerWorldOptions): Promise<ViewerWorld> {
  const log = options.log ?? (() => undefined);
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const standins = await startStandins({ cloudfrontTrustStoreDelayMs: options.trustStoreDelayMs ?? 300 });
    cleanups.push(() => standins.close());
    const dynamo = await startDynamoDb();
    cleanups.push(() => dynamo.close());
    const dir = await mkdtemp(join(tmpdir(), "mtls-rotator-viewer-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));

    const clients = standins.clients({ maxAttempts: 2 });
    standins.s3.createBucket(VIEWER_BUCKET, { versioned: true });
    const topicArn = standins.sns.createTopic("mtls-rotator");
    const table = dynamoDbClient(dynamo.endpoint);
    await createRotationTable(table, TABLE);
    const store = new ViewerMigrationStore(table, { tableName: TABLE });

    // Viewer CAs: A in service, B the one viewers move to (its chain as deep as asked).
    const a = await viewerAuthority(standins, "Viewer CA A", 2);
    const b = await viewerAuthority(standins, "Viewer CA B", options.nextChainDepth ?? 2);
    log(`viewer CA A: ${a.name} -> ${a.arn}`);
    log(`viewer CA B: ${b.name} (chain of ${options.nextChainDepth ?? 2}) -> ${b.arn}`);

    // CloudFront's own side: its origin-mTLS credential, and the origins' server identity.
    const originClientRoot = await createRootCa({ name: "CN=Sandbox Origin Client Root" });
    const originClientCa = await createSubordinateCa(originClientRoot, {
      name: "CN=Sandbox Origin Client CA",
    });
    const serverCa = await createRootCa({ name: "CN=Sandbox Origin Servers CA" });
    const server = await issueServerCredential(serverCa);
    const cloudfrontCredential = await issueClientCredential(originClientCa, {
      subject: "CN=cloudfront.sandbox.example, O=mtls-rotator sandbox",
    });
    const acm = new AcmAdapter(clients.acm, new Pacer(0), clients.acmImport);
    const credentialArn = await acm.importCertificate({
      ...cloudfrontCredential,
      lineage: { rotationId: "sandbox-setup", credential: "cloudfront" },
    });
    // What a completed rotation leaves: the credential in service is its secret's AWSCURRENT.
    await new CredentialStore(clients.secrets, {}).promote(
      credentialSecretName({ credentialSecretPrefix: CREDENTIAL_PREFIX }, credentialArn),
      tokenFor("sandbox-setup"),
      JSON.stringify({
        kind: "credential",
        rotationId: "sandbox-setup",
        ...cloudfrontCredential,
        certificateArn: credentialArn,
        serial: new X509Certificate(cloudfrontCredential.certificatePem).serialNumber.toLowerCase(),
      }),
    );
    const originClientBundle = originClientCa.certificatePem + originClientRoot.certificatePem;

    // Trust stores, from CA A's bundle.
    const trustStoreIds: Record<string, string> = {};
    const bundleA = a.issuing.certificatePem + a.issuing.chainPem;
    for (const name of options.trustStores) {
      const key = `infrastructure/${name}.pem`;
      const put = await clients.s3.send(
        new PutObjectCommand({ Bucket: VIEWER_BUCKET, Key: key, Body: bundleA }),
      );
      const created = await clients.cloudfront.send(
        new CreateTrustStoreCommand({
          Name: name,
          CaCertificatesBundleSource: {
            CaCertificatesBundleS3Location: {
              Bucket: VIEWER_BUCKET,
              Key: key,
              Region: "us-east-1",
              Version: put.VersionId,
            },
          },
        }),
      );
      trustStoreIds[name] = created.TrustStore!.Id!;
    }
    await until(() =>
      Object.values(trustStoreIds).every((id) => standins.cloudfront.trustStores.status(id) === "active"),
    );

    // The domain's passthrough bundle, as the last publish left it (CA A), and origins that follow it.
    const passthroughBundleKey = options.passthroughBundleKey ?? "viewer-trust/sandbox.pem";
    await clients.s3.send(
      new PutObjectCommand({ Bucket: VIEWER_BUCKET, Key: passthroughBundleKey, Body: bundleA }),
    );
    let runs = 0;
    let updates = 0;
    let failures = 0;

    // Passthrough behaviours forward the viewer's certificate only through an origin request policy that
    // lists Client-Cert and Client-Cert-Chain (standins/cloudfront-origin-request-policies.ts).
    const forwardsClientCert = options.distributions.some((d) => d.mode === "passthrough")
      ? (
          await clients.cloudfront.send(
            new CreateOriginRequestPolicyCommand({
              OriginRequestPolicyConfig: clientCertOriginRequestPolicy("sandbox-forward-client-cert"),
            }),
          )
        ).OriginRequestPolicy!.Id!
      : undefined;

    const distributions: ViewerWorldDistribution[] = [];
    for (const spec of options.distributions) {
      const bundlePath = join(dir, `${spec.name}-viewer-ca.pem`);
      const passthrough = spec.mode === "passthrough";
      if (passthrough) await writeFile(bundlePath, bundleA);
      const origin = await startOrigin({
        server,
        originClientBundle,
        ...(passthrough && options.passthroughChecksViewers !== false
          ? { viewerBundlePath: bundlePath }
          : {}),
      });
      cleanups.push(() => new Promise((resolve) => origin.close(() => resolve(undefined))));
      const port = (origin.address() as { port: number }).port;
      if (passthrough) {
        const follower = followBundle({
          source: `s3://${VIEWER_BUCKET}/${passthroughBundleKey}`,
          out: bundlePath,
          s3: clients.s3,
          intervalMs: options.syncIntervalMs ?? 300,
          onRun: (result) => {
            runs += 1;
            if (result.outcome === "updated") updates += 1;
            if (result.exitCode !== 0) failures += 1;
          },
        });
        cleanups.push(follower.stop);
      }
      const trustStoreId = spec.trustStore ? trustStoreIds[spec.trustStore] : undefined;
      if (spec.mode !== "passthrough" && !trustStoreId)
        throw new Error(`distribution ${spec.name} (${spec.mode}) names no known trust store`);
      const config = buildDistributionConfig({
        origins: 1,
        mtlsArns: [credentialArn],
        comment: `viewer sandbox: ${spec.name}`,
      });
      const item = config.Origins!.Items![0]!;
      item.DomainName = "127.0.0.1";
      item.CustomOriginConfig!.HTTPSPort = port;
      if (passthrough) {
        config.DefaultCacheBehavior!.OriginRequestPolicyId = forwardsClientCert;
        for (const behaviour of config.CacheBehaviors?.Items ?? [])
          behaviour.OriginRequestPolicyId = forwardsClientCert;
      }
      config.ViewerMtlsConfig =
        spec.mode === "passthrough"
          ? { Mode: "passthrough" }
          : { Mode: spec.mode, TrustStoreConfig: { TrustStoreId: trustStoreId! } };
      const created = await clients.cloudfront.send(
        new CreateDistributionCommand({ DistributionConfig: config }),
      );
      const id = created.Distribution!.Id!;
      distributions.push({
        name: spec.name,
        id,
        mode: spec.mode,
        originPort: port,
        ...(trustStoreId ? { trustStoreId } : {}),
      });
      log(
        `distribution ${spec.name} (${id}): viewer mTLS ${spec.mode}${spec.trustStore ? ` with trust store ${spec.trustStore} (${trustStoreId})` : ""}, origin 127.0.0.1:${port}`,
      );
    }

    const passthroughOrigins = distributions
      .filter((d) => d.mode === "passthrough")
      .map((d) => ({ name: d.name, distributionId: d.id, originId: "origin-1" }));

    const world: ViewerWorld = {
      standins,
      store,
      topicArn,
      a,
      b,
      trustStoreIds,
      distributions,
      originServerCaPem: serverCa.certificatePem,
      passthroughBundleKey,
      viewer: (authority, name) =>
        issueClientCredential(authority.issuing, {
          subject: `CN=${name}.viewers.sandbox.example, O=mtls-rotator sandbox`,
        }),
      domain: (overrides = {}) => ({
        name: "sandbox-viewers",
        authorities: { current: a.arn, next: b.arn, previous: [] },
        trustStoreIds: Object.values(trustStoreIds),
        ...(passthroughOrigins.length > 0
          ? { passthrough: { bucketKey: passthroughBundleKey, origins: passthroughOrigins } }
          : {}),
        maxViewerCertificateLifetimeDays: 30,
        retirementGraceSeconds: 3600,
        proofTimeoutSeconds: 20,
        proofIntervalSeconds: 1,
        ...overrides,
      }),
      deps: (domain, o = {}) =>
        viewerMigrationDeps({
          domains: [ViewerTrustDomainSchema.parse(domain)],
          clients,
          bucket: VIEWER_BUCKET,
          bucketRegion: "us-east-1",
          store,
          topicArn,
          settings: { credentialSecretPrefix: CREDENTIAL_PREFIX, originServerCaPem: serverCa.certificatePem },
          forwardedHeaders: (leaf, chain) => formatClientCertHeaders(leaf, chain),
          trustStorePolling: { pollIntervalMs: 50, activationTimeoutMs: 30_000 },
          probeTimeoutMs: 5_000,
          ...(o.now ? { now: o.now } : {}),
        }),
      syncs: () => ({ runs, updates, failures }),
      close,
    };
    return world;
  } catch (error) {
    await close();
    throw error;
  }
}

async function viewerAuthority(standins: Standins, name: string, depth: number): Promise<ViewerAuthority> {
  if (depth < 2) throw new Error("a viewer CA chain has a root and an issuing CA at least");
  let ca = await createRootCa({ name: `CN=${name} Root` });
  for (let level = 1; level < depth; level++)
    ca = await createSubordinateCa(ca, {
      name: level === depth - 1 ? `CN=${name}` : `CN=${name} Level ${level}`,
    });
  const arn = standins.privateCa.addAuthority(ca);
  // A viewer sends its issuing CA and the intermediates above it; the root is each trust point's anchor.
  const chain = [ca.certificatePem, ...splitBlocks(ca.chainPem)].filter((pem) => !isSelfSigned(pem));
  return { arn, issuing: ca, presentedChainPem: chain.join(""), name: `CN=${name}` };
}

function splitBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

function isSelfSigned(pem: string): boolean {
  const cert = new X509Certificate(pem);
  return cert.subject === cert.issuer && cert.verify(cert.publicKey);
}

/**
 * A real origin on 127.0.0.1: TLS with the origins' server identity, asking for a client certificate and
 * answering only CloudFront's (origin-client CA); with `viewerBundlePath`, a passthrough origin that also
 * checks the forwarded viewer certificate with the passthrough kit (403 with the reason otherwise).
 */
async function startOrigin(options: {
  server: IssuedCredential;
  originClientBundle: string;
  viewerBundlePath?: string;
}): Promise<Server> {
  const answer = (res: import("node:http").ServerResponse, body: Record<string, unknown>) => {
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const viewers = options.viewerBundlePath
    ? viewerCertificateMiddleware({ bundlePath: options.viewerBundlePath })
    : undefined;
  const listener = viewers
    ? viewers.wrap((_req, res, viewer) => answer(res, { viewer: viewer.subject }))
    : (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
        if (!(req.socket as TLSSocket).authorized) {
          res.writeHead(400);
          res.end("CloudFront's client certificate is required\n");
          return;
        }
        answer(res, { ok: true });
      };
  const server = createServer(
    {
      key: options.server.privateKeyPem,
      cert: options.server.certificatePem + options.server.chainPem,
      ca: options.originClientBundle,
      requestCert: true,
      // The check is the application's (a passthrough origin must see a request without CloudFront's
      // certificate to refuse its forged headers with a reason); a plain origin answers 400 itself.
      rejectUnauthorized: false,
    },
    listener,
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

/** origin-sync on a timer, as a cron job on the origin would run it (the kit re-reads the file). */
function followBundle(options: {
  source: string;
  out: string;
  s3: import("@aws-sdk/client-s3").S3Client;
  intervalMs: number;
  onRun: (result: Awaited<ReturnType<typeof originSync>>) => void;
}): { stop: () => Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = originSync(
      { source: options.source, out: options.out },
      { clients: { s3: () => options.s3 }, log: () => undefined, warn: () => undefined },
    )
      .then(options.onRun, () => undefined)
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs);
      });
  };
  timer = setTimeout(tick, options.intervalMs);
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("the stand-ins did not settle in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
