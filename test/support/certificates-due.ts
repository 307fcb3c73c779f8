/**
 * Many certificates due at once (a CA migration makes every certificate due together), each rotated by its
 * own durable execution with its own dependencies, as Lambda runs them: each execution builds its own SDK
 * clients and adapters (so nothing in-process — the ACM adapter's Pacer, the SDK's retry quota — is shared),
 * and only the account is: the AWS stand-ins, which enforce ACM's 1 ImportCertificate per second and Private
 * CA's 25 IssueCertificate per second, and the rotation table in dynalite, where the account's pacer keeps
 * its schedules. For the mass-rotation workflow test and `scripts/bench-scale-mass.ts`.
 *
 * Each certificate is presented by one distribution; every distribution points at one shared real TLS
 * origin (Node) that trusts the CA, so each rotation probes it with its own new certificate.
 *
 * Time scale (`timeScale`, default 1 = AWS): durable waits here are real time (the time-skipping runner
 * fakes one clock for the whole process, which concurrent executions would move for each other), so a
 * benchmark of a thousand imports at 1/s would take 17 minutes. With k > 1 every rate is k times faster on
 * both sides: the stand-ins count their quotas per 1000/k ms (`rateWindowMs`) and the pacer's intervals are
 * divided by k. Everything else (durable waits of whole seconds, SDK retry backoff, polls) stays real time,
 * so a scaled run is if anything harder on the pacer: a durable wait ends up to a second late, k times more
 * slots later. Report imports per *scaled* second (per real second / k).
 */

import { X509Certificate } from "node:crypto";
import { CreateDistributionCommand } from "@aws-sdk/client-cloudfront";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CloudFrontAdapter } from "../../functions/adapters/cloudfront.ts";
import { AccountPacer } from "../../functions/adapters/pacer.ts";
import { DEFAULT_SETTINGS, type RotationSettings, resolveSettings } from "../../functions/config/settings.ts";
import { PACED_OPERATIONS, type PacedOperation } from "../../functions/core/pacing.ts";
import { sha256Hex } from "../../functions/core/pem.ts";
import { presentedByHint } from "../../functions/core/presented-by.ts";
import { rotationIdFor } from "../../functions/core/rotation.ts";
import { createAwsClients } from "../../functions/wiring/aws-clients.ts";
import { rotationDepsFrom, type WiringConfig, wiringConfig } from "../../functions/wiring/workflow.ts";
import type { RotationDeps, RotationInput } from "../../functions/workflow/rotation-workflow.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";
import { type FleetOrigin, startFleetOrigin } from "../../standins/fleet-origin.ts";
import { STANDIN_CREDENTIALS, type Standins, startStandins } from "../../standins/index.ts";
import {
  createRootCa,
  createSubordinateCa,
  issueClientCredential,
  issueServerCredential,
} from "../../standins/pki.ts";
import { ACCOUNT_ID } from "../../standins/protocol.ts";
import { buildDistributionConfig } from "./distribution-config.ts";

const DAY = 86_400_000;
const TABLE = "mtls-rotator-due";

export interface DueFleetOptions {
  certificates: number;
  /** Every AWS rate and pacing interval k times faster (default 1: AWS's). */
  timeScale?: number;
  settings?: Partial<RotationSettings>;
}

export interface DueCertificate {
  arn: string;
  serial: string;
  distributionId: string;
  input: RotationInput;
}

/** When a call arrived at a stand-in and how it was answered. */
export interface TimedCall {
  operation: string;
  atMs: number;
  /** 0 while unanswered. */
  status: number;
  error?: string;
}

/**
 * The account the due fleet lives in, as plain data (it crosses a process boundary): a process builds its
 * executions' dependencies from it with `dueDepsFrom`, reaching the stand-ins and dynalite over loopback.
 */
export interface DueAccount {
  config: WiringConfig;
  standinsEndpoint: string;
  dynamoEndpoint: string;
  intervalsMs: Record<PacedOperation, number>;
}

/**
 * A new execution's dependencies in any process: its own SDK clients, table client and adapters, as in a
 * fresh Lambda environment. `close` destroys its clients.
 */
export function dueDepsFrom(account: DueAccount): { deps: RotationDeps; close(): void } {
  const clients = createAwsClients({
    region: "us-east-1",
    endpoint: account.standinsEndpoint,
    credentials: STANDIN_CREDENTIALS,
  });
  const table = dynamoDbClient(account.dynamoEndpoint);
  const deps = rotationDepsFrom(account.config, clients, table);
  delete deps.log;
  return {
    deps: {
      ...deps,
      pacer: new AccountPacer(table, {
        tableName: account.config.tableName,
        intervalsMs: account.intervalsMs,
      }),
    },
    close: () => {
      table.destroy();
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}

export interface DueFleet {
  standins: Standins;
  /** For executions in other processes (`dueDepsFrom`). */
  account: DueAccount;
  certificates: DueCertificate[];
  settings: RotationSettings;
  timeScale: number;
  /** A new execution's dependencies: its own SDK clients, table client and adapters, as in a fresh Lambda. */
  depsForExecution(): RotationDeps;
  /** ACM ImportCertificate and Private CA IssueCertificate calls of the rotations (not the set-up's). */
  pacedCalls(): TimedCall[];
  /** The account's pacer as a test reads it. */
  pacer: AccountPacer;
  /**
   * What the scan would start: one listing pass of the account's distributions, then each certificate's input
   * with that listing's hint (core/presented-by.ts), as functions/tracking/scan-fleet.ts hands it over.
   */
  scan(): Promise<RotationInput[]>;
  close(): Promise<void>;
}

/**
 * Short real-time settings: one wave of one distribution, no bake, second-long polls; the gate passes on the
 * probes alone (no CloudWatch datapoints are published here: `onNoData: "pass"`, no metrics wait); a
 * one-second grace period.
 */
export const DUE_SETTINGS: Partial<RotationSettings> = {
  validityDays: 30,
  bakeSeconds: 0,
  deploy: { timeoutSeconds: 120, pollSeconds: 1 },
  preflight: { timeoutSeconds: 120, intervalSeconds: 1, probePath: "/" },
  gate: { ...DEFAULT_SETTINGS.gate, periodSeconds: 1, metricsDeadlineSeconds: 0, onNoData: "pass" },
  graceSeconds: 1,
  waves: { canarySize: 1, waves: [{ count: 1 }] },
};

export async function buildDueFleet(options: DueFleetOptions): Promise<DueFleet> {
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale >= 1)) throw new RangeError(`timeScale must be at least 1, got ${timeScale}`);
  const rateWindowMs = 1000 / timeScale;
  const standins = await startStandins({
    deployDelayMs: 0,
    acmRateWindowMs: rateWindowMs,
    privateCa: { rateWindowMs },
  });
  const dynamo = await startDynamoDb();
  const tableClients: DynamoDBClient[] = [];
  const cleanups: Array<() => Promise<void>> = [() => standins.close(), () => dynamo.close()];
  try {
    const setupTable = dynamoDbClient(dynamo.endpoint);
    tableClients.push(setupTable);
    await createRotationTable(setupTable, TABLE);

    const root = await createRootCa({ name: "CN=Due Root CA, O=Acme", keyAlgorithm: "EC_prime256v1" });
    const issuer = await createSubordinateCa(root, { name: "CN=Due Client CA, O=Acme" });
    const authorityArn = standins.privateCa.addAuthority(issuer);
    const serverCa = await createRootCa({ name: "CN=Due Origin Servers CA, O=Acme" });
    const origin: FleetOrigin = await startFleetOrigin(
      "node",
      "shared-origin",
      await issueServerCredential(serverCa),
      issuer.certificatePem + root.certificatePem,
    );
    cleanups.push(() => origin.stop());

    const bucket = "mtls-rotator-due-trust";
    standins.s3.createBucket(bucket, { versioned: true });
    const topicArn = standins.sns.createTopic("mtls-rotator-due");
    const settings = resolveSettings({
      authorityArn,
      originServerCaPem: serverCa.certificatePem,
      ...DUE_SETTINGS,
      ...options.settings,
    });
    const config = wiringConfig({
      resource: {
        RotationTable: { name: TABLE },
        TrustBundleBucket: { name: bucket },
        NotificationTopic: { arn: topicArn },
        RotationSettings: {
          rotation: settings,
          trust: { bucketKey: "trust/origin-client-ca.pem", bundleSecretName: "mtls-rotator/trust/due-ca" },
          credentialsKeyArn: `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/00000000-0000-4000-8000-0000000000d0`,
          workflowRoleArn: `arn:aws:iam::${ACCOUNT_ID}:role/mtls-rotator-due-RotationWorkflowRole`,
          previousAuthorityArns: [],
        },
      },
      env: {
        AWS_REGION: "us-east-1",
        MTLS_ROTATOR_AWS_ENDPOINT: standins.endpoint,
        MTLS_ROTATOR_DYNAMODB_ENDPOINT: dynamo.endpoint,
      },
    });

    // The certificates in service, all due (10 days left of 90), imported in bulk before the measured run.
    const setupClients = standins.clients();
    const { ImportCertificateCommand } = await import("@aws-sdk/client-acm");
    standins.acm.setImportRate(1_000_000);
    const certificates: DueCertificate[] = [];
    for (let i = 0; i < options.certificates; i += 1) {
      const credential = await issueClientCredential(issuer, {
        subject: `CN=edge-to-origin-${i}, O=Acme`,
        notBefore: new Date(Date.now() - 80 * DAY),
        notAfter: new Date(Date.now() + 10 * DAY),
      });
      standins.privateCa.recordIssued(authorityArn, credential.certificatePem);
      const imported = await setupClients.acm.send(
        new ImportCertificateCommand({
          Certificate: Buffer.from(credential.certificatePem),
          PrivateKey: Buffer.from(credential.privateKeyPem),
          CertificateChain: Buffer.from(credential.chainPem),
        }),
      );
      const arn = imported.CertificateArn!;
      const distribution = buildDistributionConfig({
        origins: 1,
        mtlsArns: [arn],
        comment: `due ${i}`,
      });
      const item = distribution.Origins!.Items![0]!;
      item.DomainName = "127.0.0.1";
      item.CustomOriginConfig!.HTTPSPort = origin.port;
      const created = await setupClients.cloudfront.send(
        new CreateDistributionCommand({ DistributionConfig: distribution }),
      );
      const serial = new X509Certificate(credential.certificatePem).serialNumber.toLowerCase();
      certificates.push({
        arn,
        serial,
        distributionId: created.Distribution!.Id!,
        input: {
          rotationId: rotationIdFor(arn, serial, sha256Hex),
          certificateArn: arn,
          serial,
          reason: "Due",
          actor: "due-fleet",
        },
      });
    }
    // AWS's rate from now on (scaled).
    standins.acm.setImportRate(1, rateWindowMs);
    for (const client of Object.values(setupClients)) client.destroy();

    const calls: Array<{ operation: string; atMs: number; record: { status: number; error?: string } }> = [];
    standins.server.intercept(({ service, operation, record }) => {
      if (
        (service === "acm" && operation === "ImportCertificate") ||
        (service === "acm-pca" && operation === "IssueCertificate")
      ) {
        calls.push({ operation: `${service}:${operation}`, atMs: Date.now(), record });
      }
    });

    const intervalsMs = {
      "acm-import": PACED_OPERATIONS["acm-import"].intervalMs / timeScale,
      "pca-issue": PACED_OPERATIONS["pca-issue"].intervalMs / timeScale,
    };
    const account: DueAccount = {
      config,
      standinsEndpoint: standins.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      intervalsMs,
    };
    const executions: Array<() => void> = [];
    return {
      standins,
      account,
      certificates,
      settings,
      timeScale,
      pacer: new AccountPacer(setupTable, { tableName: TABLE, intervalsMs }),
      depsForExecution() {
        const { deps, close } = dueDepsFrom(account);
        executions.push(close);
        return deps;
      },
      scan: async () => {
        const listedAt = new Date();
        const clients = standins.clients();
        try {
          const index = await new CloudFrontAdapter(clients.cloudfront).indexOriginCertificates();
          return certificates.map((c) => {
            const presentedBy = presentedByHint(index.get(c.arn), listedAt);
            return { ...c.input, ...(presentedBy ? { presentedBy } : {}) };
          });
        } finally {
          for (const client of Object.values(clients)) client.destroy();
        }
      },
      pacedCalls: () =>
        calls.map(({ operation, atMs, record }) => ({
          operation,
          atMs,
          status: record.status,
          ...(record.error ? { error: record.error } : {}),
        })),
      close: async () => {
        for (const client of tableClients) client.destroy();
        for (const close of executions) close();
        for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    throw error;
  }
}
