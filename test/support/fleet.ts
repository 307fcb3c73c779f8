/**
 * A whole fleet on this machine for workflow and end-to-end tests: AWS stand-ins (real SDK over loopback),
 * dynalite, a Private CA with real keys, an old client certificate in ACM that CloudFront distributions
 * present to real TLS origins (Node or nginx) on 127.0.0.1, and the workflow's dependencies built from the
 * real adapters. Nothing here is a mock of the code under test.
 */
import { ImportCertificateCommand } from "@aws-sdk/client-acm";
import { CreateDistributionCommand } from "@aws-sdk/client-cloudfront";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { AcmAdapter } from "../../functions/adapters/acm.ts";
import { CloudFrontAdapter } from "../../functions/adapters/cloudfront.ts";
import { InventoryStore } from "../../functions/adapters/inventory-store.ts";
import { RollbackRequests } from "../../functions/adapters/rollback-requests.ts";
import {
  documentTableWrites,
  RotationStore,
  toDocumentClient,
} from "../../functions/adapters/rotation-store.ts";
import { tokenFor } from "../../functions/adapters/secrets.ts";
import { DEFAULT_SETTINGS, type RotationSettings, resolveSettings } from "../../functions/config/settings.ts";
import type { SupportedKeyAlgorithm } from "../../functions/core/certificate.ts";
import { sha256Hex } from "../../functions/core/pem.ts";
import { rotationIdFor } from "../../functions/core/rotation.ts";
import { rotationDepsFrom, wiringConfig } from "../../functions/wiring/workflow.ts";
import { credentialSecretName } from "../../functions/workflow/phases/plan.ts";
import type { RotationDeps, RotationInput } from "../../functions/workflow/rotation-workflow.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";
import { type FleetOrigin, type OriginAnswers, startFleetOrigin } from "../../standins/fleet-origin.ts";
import { type Standins, type StandinsOptions, startStandins } from "../../standins/index.ts";
import {
  type CaKeyAlgorithm,
  type CertificateAuthority,
  createRootCa,
  createSubordinateCa,
  type IssuedCredential,
  issueClientCredential,
  issueServerCredential,
} from "../../standins/pki.ts";
import { ACCOUNT_ID } from "../../standins/protocol.ts";
import { buildDistributionConfig } from "./distribution-config.ts";
import { SteadyTraffic } from "./traffic.ts";

/** The credentials key the fleet's workflow encrypts credential secrets with (a stand-in ARN). */
const FLEET_CREDENTIALS_KEY = `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/00000000-0000-4000-8000-000000000001`;
/** The workflow's role as the fleet's settings name it: every credential secret's resource policy names it. */
export const FLEET_WORKFLOW_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/mtls-rotator-test-RotationWorkflowRole`;

const DAY = 86_400_000;

/**
 * The health gate for tests that run in real time (replay, end to end): second-long CloudWatch periods (the
 * stand-in edge and SteadyTraffic publish every second), two of them after each deployment, within 20 s.
 * A fleet with it gets CloudWatch's publication delay of REAL_TIME_METRICS_DELAY_MS (not minutes).
 */
export const REAL_TIME_GATE: RotationSettings["gate"] = {
  ...DEFAULT_SETTINGS.gate,
  periodSeconds: 1,
  minDatapoints: 2,
  metricsDeadlineSeconds: 20,
};
/** CloudWatch's publication delay for real-time tests: a second instead of minutes. */
export const REAL_TIME_METRICS_DELAY_MS = 1_000;

/** A real TLS origin whose trusted client CA bundle can be changed (standins/fleet-origin.ts). */
export type { FleetOrigin };

export interface FleetOptions {
  distributions: number;
  /**
   * How many origins the distributions share (distribution i uses origin i mod this), for fleets of
   * thousands of distributions; default: an origin of its own for each distribution.
   */
  sharedOrigins?: number;
  origin?: "node" | "nginx";
  /** Key of the certificate in service (default: P-256, or RSA-2048 under an RSA CA). */
  keyAlgorithm?: SupportedKeyAlgorithm;
  /**
   * Key of the CA that issued the certificate in service (default: of the certificate's key type, as ACM
   * imports a certificate only of its signing CA's key type).
   */
  caKeyAlgorithm?: CaKeyAlgorithm;
  /** Issue the replacement from a different CA than the one the fleet trusts (a CA change). */
  newIssuer?: "same" | "other";
  /** Key of the new CA when `newIssuer` is "other" (default: the old CA's). A CA change of key type. */
  newCaKeyAlgorithm?: CaKeyAlgorithm;
  standins?: StandinsOptions;
  /**
   * What origins (by index) answer a trusted and an untrusted client certificate (default 200 and the
   * TLS-level 400): e.g. `{ untrusted: 403 }`, an origin refusing an unknown certificate at the application
   * level; `{ trusted: 401 }`, one that also wants a header no probe sends.
   */
  originAnswers?: Record<number, OriginAnswers>;
  /**
   * The certificate in service's complete credential (with its key) as the credential secret's AWSCURRENT,
   * as after a rotation this service completed; by default the secret has no version (a certificate
   * imported outside the service, before its first rotation).
   */
  currentCredential?: boolean;
  settings?: Partial<RotationSettings>;
  /**
   * CloudFront's 5xx datapoints: "steady" (default) publishes healthy traffic for every distribution, one
   * datapoint per gate period (SteadyTraffic, through the real adapter and the stand-in's publication
   * delay); "none" publishes nothing (a test that runs the real edge, or one about missing data).
   */
  traffic?: "steady" | "none";
  /**
   * Who imported the certificate in service: "service" (default: an earlier rotation, with the lineage tags
   * and the service's mark) or "operator" (by hand, without tags: a lineage's first rotation).
   */
  oldImportedBy?: "service" | "operator";
}

export interface Fleet {
  standins: Standins;
  store: RotationStore;
  /** The rotation table's client and name, for tests that read its items as stored. */
  table: { client: DynamoDBClient; name: string };
  inventory: InventoryStore;
  /** Rollbacks asked for between control points, as the API records them. */
  rollbackRequests: RollbackRequests;
  deps: RotationDeps;
  settings: RotationSettings;
  root: CertificateAuthority;
  oldIssuer: CertificateAuthority;
  newIssuer: CertificateAuthority;
  authorityArn: string;
  /** The old CA as a Private CA, in a CA change (newIssuer "other"). */
  previousAuthorityArn?: string;
  oldCertificateArn: string;
  oldCredential: IssuedCredential;
  oldSerial: string;
  /** Bundles: what origins trust now, and old + new issuer. */
  oldTrustPem: string;
  bothTrustPem: string;
  newTrustPem: string;
  /** Server CA the origins' own certificates chain to (for clients verifying origins). */
  serverCaPem: string;
  distributionIds: string[];
  /** Each distribution's origin (shared by several with `sharedOrigins`). */
  origins: Map<string, FleetOrigin>;
  /** The steady traffic CloudFront publishes metrics for (undefined with `traffic: "none"`). */
  traffic?: SteadyTraffic;
  topicArn: string;
  bucket: string;
  input(overrides?: Partial<RotationInput>): RotationInput;
  close(): Promise<void>;
}

export async function buildFleet(options: FleetOptions): Promise<Fleet> {
  // CloudWatch publishes CloudFront's datapoints late: minutes, as in AWS, for minute periods (time-skipping
  // tests); a second with the real-time gate (REAL_TIME_GATE), unless the test says otherwise.
  const realTimeGate = (options.settings?.gate?.periodSeconds ?? 60) < 60;
  const standins = await startStandins({
    deployDelayMs: 0,
    ...(realTimeGate ? { awsMetricsDelayMs: REAL_TIME_METRICS_DELAY_MS } : {}),
    ...options.standins,
  });
  const dynamo = await startDynamoDb();
  const cleanups: Array<() => Promise<void>> = [() => standins.close(), () => dynamo.close()];
  try {
    const clients = standins.clients();

    // PKI: the CA the fleet trusts today, and the CA replacements come from.
    const oldCaKey =
      options.caKeyAlgorithm ?? (options.keyAlgorithm?.startsWith("RSA_") ? "RSA_2048" : "EC_prime256v1");
    const newCaKey = options.newCaKeyAlgorithm ?? oldCaKey;
    const root = await createRootCa({ name: "CN=Acme Root CA, O=Acme", keyAlgorithm: oldCaKey });
    const oldIssuer = await createSubordinateCa(root, { name: "CN=Acme Origin Client CA 1, O=Acme" });
    // A CA change brings its own root: an origin trusting the old root must not trust the new CA by accident.
    const newRoot =
      options.newIssuer === "other"
        ? await createRootCa({ name: "CN=Acme Root CA 2026, O=Acme", keyAlgorithm: newCaKey })
        : root;
    const newIssuer =
      options.newIssuer === "other"
        ? await createSubordinateCa(newRoot, { name: "CN=Acme Origin Client CA 2, O=Acme" })
        : oldIssuer;
    const authorityArn = standins.privateCa.addAuthority(newIssuer);
    // In a CA change the old CA is a Private CA too, being migrated away from (previousAuthorityArns).
    const previousAuthorityArn =
      oldIssuer === newIssuer ? undefined : standins.privateCa.addAuthority(oldIssuer);
    const serverCa = await createRootCa({ name: "CN=Acme Origin Servers CA, O=Acme" });
    const serverIdentity = await issueServerCredential(serverCa);

    // Infrastructure the service owns.
    const bucket = "mtls-rotator-trust";
    standins.s3.createBucket(bucket, { versioned: true });
    const topicArn = standins.sns.createTopic("mtls-rotator");
    const dynamoClient = dynamoDbClient(dynamo.endpoint);
    await createRotationTable(dynamoClient, "mtls-rotator");
    const store = new RotationStore(dynamoClient, { tableName: "mtls-rotator" });
    const inventory = new InventoryStore(dynamoClient, { tableName: "mtls-rotator" });
    const rollbackRequests = new RollbackRequests(
      documentTableWrites(toDocumentClient(dynamoClient), "mtls-rotator"),
    );

    const settings = resolveSettings({
      authorityArn,
      validityDays: 30,
      // Bake windows are callback timeouts: the local runner lets those run in real time, so keep them short.
      bakeSeconds: 1,
      deploy: { timeoutSeconds: 30 * 60, pollSeconds: 30 },
      preflight: { timeoutSeconds: 5 * 60, intervalSeconds: 30, probePath: "/" },
      // With a credential in service the promotion can be undone, so the grace period is a control point: a
      // durable callback, whose window the local runner lets run in real time even when it skips time.
      graceSeconds: options.currentCredential ? 1 : 3600,
      waves: { canarySize: 1, waves: [{ count: 1 }] },
      originServerCaPem: serverCa.certificatePem,
      ...options.settings,
    });

    // The workflow's dependencies as the deployed wiring builds them from its linked resources (pointed at
    // the stand-ins); only what a test needs faster or observed is put in their place.
    const wired = rotationDepsFrom(
      wiringConfig({
        resource: {
          RotationTable: { name: "mtls-rotator" },
          TrustBundleBucket: { name: bucket },
          NotificationTopic: { arn: topicArn },
          RotationSettings: {
            rotation: settings,
            trust: {
              bucketKey: "trust/origin-client-ca.pem",
              bundleSecretName: "mtls-rotator/trust/origin-client-ca",
            },
            credentialsKeyArn: FLEET_CREDENTIALS_KEY,
            workflowRoleArn: FLEET_WORKFLOW_ROLE,
            previousAuthorityArns: previousAuthorityArn ? [previousAuthorityArn] : [],
          },
        },
        env: {
          AWS_REGION: "us-east-1",
          MTLS_ROTATOR_AWS_ENDPOINT: standins.endpoint,
          MTLS_ROTATOR_DYNAMODB_ENDPOINT: dynamo.endpoint,
        },
      }),
      clients,
      // The table through the test's client (the stand-ins' credentials): the store below, the pacer.
      dynamoClient,
    );
    // The test's own ACM access (importing the certificate in service).
    const acm = new AcmAdapter(clients.acm);
    const deps: RotationDeps = {
      ...wired,
      // No real waits between CloudFront polls, and issuance polled every 5 ms.
      distributions: new CloudFrontAdapter(clients.cloudfront, { sleep: async () => undefined }),
      issuance: { ...wired.issuance, wait: { initialDelayMs: 5 } },
      // The test's own client of the table (the stand-ins' credentials).
      store,
    };
    delete deps.log;

    // The certificate in service: issued earlier by the old CA, close to expiry, imported into ACM.
    const oldCredential = await issueClientCredential(oldIssuer, {
      subject: "CN=cloudfront-to-origin, O=Acme",
      dnsNames: ["edge.acme.example"],
      ...(options.keyAlgorithm ? { keyAlgorithm: options.keyAlgorithm } : {}),
      notBefore: new Date(Date.now() - 80 * DAY),
      notAfter: new Date(Date.now() + 10 * DAY),
    });
    // Issued by its Private CA (the old one in a CA change), which knows it as every certificate it issued.
    standins.privateCa.recordIssued(previousAuthorityArn ?? authorityArn, oldCredential.certificatePem);
    const oldCertificateArn =
      options.oldImportedBy === "operator"
        ? ((
            await clients.acm.send(
              new ImportCertificateCommand({
                Certificate: Buffer.from(oldCredential.certificatePem),
                PrivateKey: Buffer.from(oldCredential.privateKeyPem),
                CertificateChain: Buffer.from(oldCredential.chainPem),
              }),
            )
          ).CertificateArn ?? "")
        : await acm.importCertificate({
            ...oldCredential,
            lineage: { rotationId: "initial", credential: "initial" },
          });
    const oldSerial = new (await import("node:crypto")).X509Certificate(
      oldCredential.certificatePem,
    ).serialNumber.toLowerCase();

    if (options.currentCredential) {
      // What a completed rotation leaves: the credential in service is the credential secret's AWSCURRENT.
      const document = {
        kind: "credential",
        rotationId: "initial",
        ...oldCredential,
        certificateArn: oldCertificateArn,
        serial: oldSerial,
      };
      await deps.issuance.credentials.promote(
        credentialSecretName(settings, oldCertificateArn),
        tokenFor("initial"),
        JSON.stringify(document),
      );
    }

    const oldTrustPem = oldIssuer.certificatePem + root.certificatePem;
    const newTrustPem = newIssuer.certificatePem + newRoot.certificatePem;
    const bothTrustPem = oldIssuer === newIssuer ? oldTrustPem : oldTrustPem + newTrustPem;

    // Origins and the distributions that present the old certificate to them.
    const origins = new Map<string, FleetOrigin>();
    const distributionIds: string[] = [];
    const started: FleetOrigin[] = [];
    for (let i = 0; i < options.distributions; i += 1) {
      const shared = options.sharedOrigins === undefined ? i : i % options.sharedOrigins;
      const name = `origin-${shared + 1}`;
      let origin = started[shared];
      if (!origin) {
        const server = await startFleetOrigin(
          options.origin ?? "node",
          name,
          serverIdentity,
          oldTrustPem,
          options.originAnswers?.[shared],
        );
        cleanups.push(() => server.stop());
        started[shared] = server;
        origin = server;
      }
      const config = buildDistributionConfig({
        origins: 1,
        mtlsArns: [oldCertificateArn],
        comment: `fleet ${name}`,
      });
      const item = config.Origins!.Items![0]!;
      item.DomainName = "127.0.0.1";
      item.CustomOriginConfig!.HTTPSPort = origin.port;
      const created = await clients.cloudfront.send(
        new CreateDistributionCommand({ DistributionConfig: config }),
      );
      const id = created.Distribution!.Id!;
      distributionIds.push(id);
      origins.set(id, origin);
    }

    const traffic =
      options.traffic === "none"
        ? undefined
        : new SteadyTraffic(standins, distributionIds, {
            periodSeconds: settings.gate.periodSeconds ?? 60,
            since: new Date(),
          });
    if (traffic) deps.metrics = traffic.wrap(deps.metrics);

    return {
      standins,
      table: { client: dynamoClient, name: "mtls-rotator" },
      store,
      rollbackRequests,
      inventory,
      deps,
      settings,
      root,
      oldIssuer,
      newIssuer,
      authorityArn,
      ...(previousAuthorityArn ? { previousAuthorityArn } : {}),
      oldCertificateArn,
      oldCredential,
      oldSerial,
      oldTrustPem,
      bothTrustPem,
      newTrustPem,
      serverCaPem: serverCa.certificatePem,
      distributionIds,
      origins,
      ...(traffic ? { traffic } : {}),
      topicArn,
      bucket,
      input: (overrides = {}) => ({
        rotationId: rotationIdFor(oldCertificateArn, oldSerial, sha256Hex),
        certificateArn: oldCertificateArn,
        serial: oldSerial,
        reason: "Due",
        actor: "test",
        ...overrides,
      }),
      close: async () => {
        for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    throw error;
  }
}
