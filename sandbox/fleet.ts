/**
 * The sandbox's world, built from a scenario: the AWS stand-ins (real SDK over loopback) and dynalite, CAs
 * with real keys registered as Private CAs, the certificates in service imported into ACM, real TLS origins
 * on 127.0.0.1 (nginx, or Node TLS servers) with their behaviours, CloudFront distributions presenting the
 * certificates to them, the published trust bundle, and the deployed wiring's configuration (the same linked
 * resources infra/ gives the Lambda functions, pointed at the stand-ins).
 *
 * Private keys stay in this process (the stand-ins' ACM and Secrets Manager hold them, as AWS would); nothing
 * here returns or prints one.
 */

import { X509Certificate } from "node:crypto";
import { CreateDistributionCommand } from "@aws-sdk/client-cloudfront";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { AcmAdapter } from "../functions/adapters/acm.ts";
import { InventoryStore } from "../functions/adapters/inventory-store.ts";
import { RotationStore } from "../functions/adapters/rotation-store.ts";
import { fingerprintOf } from "../functions/core/pem.ts";
import { publishTrustBundle } from "../functions/trust/publish-bundle.ts";
import type { AwsClients } from "../functions/wiring/aws-clients.ts";
import { rotationDepsFrom, type WiringConfig, wiringConfig } from "../functions/wiring/workflow.ts";
import { buildDistributionConfig } from "../standins/distribution-config.ts";
import {
  createRotationTable,
  type DynamoDbStandin,
  dynamoDbClient,
  startDynamoDb,
} from "../standins/dynamodb.ts";
import { type FleetOrigin, type OriginKind, startFleetOrigin } from "../standins/fleet-origin.ts";
import { type Standins, startStandins } from "../standins/index.ts";
import {
  type CertificateAuthority,
  createRootCa,
  createSubordinateCa,
  type IssuedCredential,
  issueClientCredential,
  issueServerCredential,
} from "../standins/pki.ts";
import { ACCOUNT_ID } from "../standins/protocol.ts";
import { CALLER_HEADER } from "../standins/server.ts";
import {
  acknowledgingFollower,
  type DroppingAddress,
  describeReachability,
  guardServiceAcknowledgements,
  proofsSetting,
  reachableFromTheEdgeOnly,
} from "./acknowledgements.ts";
import { authoritySubjects } from "./distinguished-name.ts";
import { type OriginChangeReport, OriginFront } from "./origin-changes.ts";
import { BundleFollower, DownOrigin, SlowProxy } from "./origins.ts";
import type { Printer } from "./printer.ts";
import {
  type CaKeyType,
  defaultKeyType,
  type KeyType,
  SANDBOX_GATE,
  SANDBOX_METRICS_DELAY_SECONDS,
  type Scenario,
  type ScenarioOrigin,
} from "./scenario.ts";
import { changedOrigins } from "./scenario-origins.ts";

const DAY = 86_400_000;

/** Names of the service's resources in the sandbox (what SST would name per stage). */
export const SANDBOX_RESOURCES = {
  table: "mtls-rotator-sandbox-rotations",
  bucket: "mtls-rotator-sandbox-trust",
  bundleKey: "trust/origin-client-ca.pem",
  bundleSecretName: "mtls-rotator/sandbox/trust/origin-client-ca",
  topic: "mtls-rotator-sandbox-notifications",
  credentialSecretPrefix: "mtls-rotator/sandbox/credentials/",
  credentialsKeyArn: `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/5a4d1c2b-0e3f-4a6b-8c7d-9e0f1a2b3c4d`,
  workflowRoleArn: `arn:aws:iam::${ACCOUNT_ID}:role/mtls-rotator-sandbox-RotationWorkflowRole`,
  workflow: { name: "mtls-rotator-sandbox-RotationWorkflow", qualifier: "sandbox" },
} as const;

/** How often origins run origin-sync against the published bundle. */
export const ORIGIN_SYNC_INTERVAL_MS = 400;

export interface SandboxAuthority {
  ref: "authority" | "nextAuthority";
  ca: CertificateAuthority;
  /** Its root (shared by a re-keyed CA with the CA it re-keys). */
  root: CertificateAuthority;
  /** The CA it re-keys under the same name and root (nextAuthority with `rekeyed`). */
  rekeyed?: boolean;
  /** Its key type (Private CA's KeyAlgorithm spelling). */
  keyType: CaKeyType;
  arn: string;
  /** Issuing CA then its root: what an origin trusts to accept this CA's certificates. */
  trustPem: string;
  /** SHA-256 of the issuing CA certificate (as trust bundles are compared). */
  fingerprint: string;
  subject: string;
  /** The same for its root. */
  rootFingerprint: string;
  rootSubject: string;
}

export interface SandboxCertificate {
  name: string;
  keyType: KeyType;
  arn: string;
  serial: string;
  subject: string;
  notAfter: string;
}

export interface SandboxOrigin {
  distribution: string;
  distributionId: string;
  name: string;
  /** CloudFront origin id (= the scenario's origin name). */
  originId: string;
  /** "<distribution>/<origin>" */
  path: string;
  spec: ScenarioOrigin;
  /** The certificate (name) the distribution presents to this origin at the start. */
  certificate?: string;
  initialArn?: string;
  /**
   * The port its distribution names (the slow proxy's, for a slow origin; the dropping address's, for an
   * edge-only origin): where CloudFront, and the workflow's probes, connect.
   */
  port: number;
  server?: FleetOrigin;
  proxy?: SlowProxy;
  down?: DownOrigin;
  follower?: BundleFollower;
  /** Set once the origin dropped the new issuer (stopsTrustingAfterSwap). */
  distrustedAt?: number;
  /** An origin an action changes during the run: the front whose condition (down, slow) changes. */
  front?: OriginFront;
  /** The changes made to it, in order. */
  changes?: OriginChangeReport[];
  /** Edge-only: the port the edge reaches it on (CloudFront's path); `port` drops every connection. */
  edgePort?: number;
  direct?: DroppingAddress;
  /** The id its origin-sync acknowledges with (proof "acknowledgement" or "both"). */
  ackId?: string;
}

export interface SandboxDistribution {
  name: string;
  id: string;
  origins: SandboxOrigin[];
}

/** The deployed wiring's inputs: SST's linked resources and the Lambda environment, for the stand-ins. */
export interface SandboxWiring {
  resource: Record<string, unknown>;
  env: Record<string, string>;
}

export interface SandboxFleet {
  standins: Standins;
  dynamo: DynamoDbStandin;
  clients: AwsClients;
  originKind: OriginKind;
  authority: SandboxAuthority;
  nextAuthority?: SandboxAuthority;
  /** The CA replacements are issued from (nextAuthority when there is one). */
  issuingAuthority: SandboxAuthority;
  serverCaPem: string;
  certificates: Map<string, SandboxCertificate>;
  distributions: SandboxDistribution[];
  origins: SandboxOrigin[];
  topicArn: string;
  /** AWS calls made by the origins' origin-sync (counted client-side, by "s3:Operation"). */
  originSyncCalls: Record<string, number>;
  /**
   * DynamoDB requests the sandbox's clients sent to dynalite, by "dynamodb:Operation" (client-side, retries
   * included; setup and service alike). Not in the report: for tests that prove what a step did not write.
   */
  dynamoCalls: Record<string, number>;
  store: RotationStore;
  inventory: InventoryStore;
  wiring: SandboxWiring;
  /** The workflow's configuration as the deployed wiring reads it from `wiring`. */
  config: WiringConfig;
  /** Stops the origins' followers (so the runner can read a settled state) then everything else. */
  close(): Promise<void>;
}

export interface BuildFleetOptions {
  scenario: Scenario;
  originKind: OriginKind;
  /** Scratch space (Node origins' bundle files); the caller removes it. */
  tempDir: string;
  printer: Printer;
}

/** A CA of the scenario with its own root, or, re-keying `rekeys`, a new key under its name and root. */
async function authorityFrom(
  ref: SandboxAuthority["ref"],
  spec: Scenario["authority"],
  standins: Standins,
  rekeys?: SandboxAuthority,
): Promise<SandboxAuthority> {
  const keyAlgorithm = spec.keyType ?? "EC_prime256v1";
  // The scenario validator made sure the name is one attribute value (./distinguished-name.ts).
  const { subject, rootSubject } = authoritySubjects(spec.name);
  const root = rekeys?.root ?? (await createRootCa({ name: rootSubject, keyAlgorithm }));
  const ca = await createSubordinateCa(root, {
    name: subject,
    keyAlgorithm,
  });
  return {
    ref,
    ca,
    root,
    ...(rekeys ? { rekeyed: true } : {}),
    keyType: keyAlgorithm,
    arn: standins.privateCa.addAuthority(ca),
    trustPem: ca.certificatePem + root.certificatePem,
    fingerprint: fingerprintOf(new X509Certificate(ca.certificatePem)),
    subject,
    rootFingerprint: fingerprintOf(new X509Certificate(root.certificatePem)),
    rootSubject,
  };
}

/** Builds the scenario's world. On failure everything started so far is stopped again. */
export async function buildSandboxFleet(options: BuildFleetOptions): Promise<SandboxFleet> {
  const { scenario, printer } = options;
  const policy = scenario.policy ?? {};
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const standins = await startStandins({
      deployDelayMs: Math.round((policy.deploySeconds ?? 1) * 1000),
      // CloudWatch shows CloudFront's datapoints late: a second here (minutes in AWS).
      awsMetricsDelayMs: Math.round((policy.metricsDelaySeconds ?? SANDBOX_METRICS_DELAY_SECONDS) * 1000),
    });
    cleanups.push(() => standins.close());
    const dynamo = await startDynamoDb();
    cleanups.push(() => dynamo.close());
    const clients = standins.clients();
    // The service may read acknowledgements, never write one (only an origin host can, as itself).
    guardServiceAcknowledgements(clients.s3);
    // The origins' own S3 client (origin-sync runs on the origins, not in the service): its requests carry
    // a caller header, so the stand-in server counts them apart from the service's, in the same call log
    // (a count kept on the client side could be read between a request leaving and its arrival).
    const originS3 = standins.clients().s3;
    originS3.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) request.headers[CALLER_HEADER] = "origin-sync";
        return next(args);
      },
      { step: "build", name: "sandboxOriginSyncCaller" },
    );
    printer.line(`stand-ins: AWS on ${standins.endpoint}, DynamoDB (dynalite) on ${dynamo.endpoint}`);

    // PKI: the CA in service, the CA being migrated to, and the CA of the origins' own server certificates.
    const authority = await authorityFrom("authority", scenario.authority, standins);
    const nextAuthority = scenario.nextAuthority
      ? await authorityFrom(
          "nextAuthority",
          scenario.nextAuthority,
          standins,
          scenario.nextAuthority.rekeyed ? authority : undefined,
        )
      : undefined;
    const issuingAuthority = nextAuthority ?? authority;
    const serverCa = await createRootCa({
      name: "CN=mtls-rotator sandbox origin servers, O=mtls-rotator sandbox",
    });
    const serverIdentity = await issueServerCredential(serverCa);
    printer.line(
      `CA: ${authority.subject}, key ${authority.keyType} (${authority.arn})` +
        (nextAuthority
          ? `; next CA (${nextAuthority.rekeyed ? "the same CA re-keyed: same subject and root, new key" : "migration"}): ` +
            `${nextAuthority.subject}, key ${nextAuthority.keyType} (${nextAuthority.arn})`
          : ""),
    );

    // The service's own resources.
    standins.s3.createBucket(SANDBOX_RESOURCES.bucket, { versioned: true });
    const topicArn = standins.sns.createTopic(SANDBOX_RESOURCES.topic);
    const dynamoCalls: Record<string, number> = {};
    const dynamoClient = countDynamoCalls(dynamoDbClient(dynamo.endpoint), dynamoCalls);
    await createRotationTable(dynamoClient, SANDBOX_RESOURCES.table);
    const store = new RotationStore(dynamoClient, { tableName: SANDBOX_RESOURCES.table });
    const inventory = new InventoryStore(dynamoClient, { tableName: SANDBOX_RESOURCES.table });

    // The certificates in service, issued by the current CA and imported into ACM.
    const acm = new AcmAdapter(clients.acm);
    const certificates = new Map<string, SandboxCertificate>();
    for (const spec of scenario.certificates) {
      const keyType = spec.keyType ?? defaultKeyType(scenario.authority.keyType);
      const notAfter = new Date(Date.now() + spec.expiresInDays * DAY);
      const notBefore = new Date(notAfter.getTime() - (spec.validityDays ?? 90) * DAY);
      const subject = spec.subject ?? `CN=${spec.name}.sandbox.example, O=mtls-rotator sandbox`;
      const credential: IssuedCredential = await issueClientCredential(authority.ca, {
        subject,
        dnsNames: spec.dnsNames ?? [`${spec.name}.sandbox.example`],
        keyAlgorithm: keyType,
        notBefore,
        notAfter,
      });
      const arn = await acm.importCertificate({
        ...credential,
        lineage: { rotationId: "sandbox-setup", credential: spec.name },
      });
      const parsed = new X509Certificate(credential.certificatePem);
      certificates.set(spec.name, {
        name: spec.name,
        keyType,
        arn,
        serial: parsed.serialNumber.toLowerCase(),
        subject,
        notAfter: new Date(parsed.validTo).toISOString(),
      });
      printer.line(
        `certificate ${spec.name}: ${keyType}, expires in ${spec.expiresInDays} d, serial ${parsed.serialNumber.toLowerCase()} -> ${arn}`,
      );
    }

    // Origins and distributions.
    const distributions: SandboxDistribution[] = [];
    const origins: SandboxOrigin[] = [];
    const changed = changedOrigins(scenario);
    for (const spec of scenario.distributions) {
      const built: SandboxOrigin[] = [];
      for (const originSpec of spec.origins) {
        const origin: SandboxOrigin = {
          distribution: spec.name,
          distributionId: "",
          name: originSpec.name,
          originId: originSpec.name,
          path: `${spec.name}/${originSpec.name}`,
          spec: originSpec,
          ...(originSpec.certificate
            ? {
                certificate: originSpec.certificate,
                initialArn: certificates.get(originSpec.certificate)!.arn,
              }
            : {}),
          port: 0,
        };
        // An origin an action changes keeps its server behind a front (it may come back up).
        const changes = changed.has(origin.path);
        if (originSpec.down && !changes) {
          origin.down = new DownOrigin();
          cleanups.push(() => origin.down!.close());
          origin.port = await origin.down.listen();
        } else {
          const server = await startFleetOrigin(
            options.originKind,
            `${spec.name}-${originSpec.name}`,
            serverIdentity,
            authority.trustPem,
          );
          cleanups.push(() => server.stop());
          origin.server = server;
          origin.port = server.port;
          if (changes) {
            const front = new OriginFront(server.port, {
              down: originSpec.down ?? false,
              slowMs: originSpec.slowMs ?? 0,
            });
            origin.front = front;
            cleanups.push(() => front.close());
            origin.port = await front.listen();
          } else if (originSpec.slowMs) {
            origin.proxy = new SlowProxy(server.port, originSpec.slowMs);
            cleanups.push(() => origin.proxy!.close());
            origin.port = await origin.proxy.listen();
          }
          if ((originSpec.trustsNewIssuer ?? "now") !== "never") {
            origin.follower = new BundleFollower({
              origin: server,
              s3: originS3,
              source: `s3://${SANDBOX_RESOURCES.bucket}/${SANDBOX_RESOURCES.bundleKey}`,
              tempDir: options.tempDir,
              intervalMs: ORIGIN_SYNC_INTERVAL_MS,
              onFailure: (message) =>
                printer.line(`origin ${origin.path}: origin-sync failed: ${message.split("\n")[0]}`),
              onUpdate: (result) =>
                printer.line(
                  `origin ${origin.path}: origin-sync installed bundle ${result.sha256?.slice(0, 12)} ` +
                    `(${result.certificates?.length ?? 0} CA certificates) and reloaded`,
                ),
              // Proof "acknowledgement" / "both": --ack-id, with the host's own S3 client.
              ...acknowledgingFollower(origin, standins, {
                bundleKey: SANDBOX_RESOURCES.bundleKey,
                printer,
              }),
            });
            cleanups.push(() => origin.follower!.stop());
          }
        }
        if (originSpec.reachable === "edge-only") await reachableFromTheEdgeOnly(origin, printer, cleanups);
        built.push(origin);
      }
      const config = buildDistributionConfig({
        origins: built.length,
        mtlsArns: built.map((o) => o.initialArn),
        comment: `mtls-rotator sandbox: ${spec.name}`,
      });
      const items = config.Origins!.Items!;
      built.forEach((origin, i) => {
        const item = items[i]!;
        item.Id = origin.originId;
        item.DomainName = "127.0.0.1";
        item.CustomOriginConfig!.HTTPSPort = origin.port;
      });
      config.DefaultCacheBehavior!.TargetOriginId = built[0]!.originId;
      for (const behaviour of config.CacheBehaviors?.Items ?? [])
        behaviour.TargetOriginId = built.at(-1)!.originId;
      const created = await clients.cloudfront.send(
        new CreateDistributionCommand({ DistributionConfig: config }),
      );
      const id = created.Distribution!.Id!;
      for (const origin of built) origin.distributionId = id;
      distributions.push({ name: spec.name, id, origins: built });
      origins.push(...built);
      printer.nameDistribution(id, spec.name);
      printer.line(
        `distribution ${spec.name} (${id}): ${built
          .map(
            (o) =>
              `${o.name} on 127.0.0.1:${o.port}${describeBehaviour(o)}${o.certificate ? ` <- ${o.certificate}` : ""}`,
          )
          .join(", ")}`,
      );
    }

    // The deployed wiring's configuration, pointed at the stand-ins.
    const idOf = (name: string) => distributions.find((d) => d.name === name)!.id;
    const rotation = {
      authorityArn: issuingAuthority.arn,
      credentialSecretPrefix: SANDBOX_RESOURCES.credentialSecretPrefix,
      validityDays: policy.validityDays ?? 30,
      waves: {
        canarySize: policy.waves?.canarySize ?? 1,
        waves: policy.waves?.waves ?? [{ count: 1 }],
        ...(policy.waves?.canaryPreference
          ? { canaryPreference: policy.waves.canaryPreference.map(idOf) }
          : {}),
      },
      bakeSeconds: policy.bakeSeconds ?? 2,
      deploy: { timeoutSeconds: 60, pollSeconds: 1 },
      preflight: {
        timeoutSeconds: policy.preflight?.timeoutSeconds ?? 10,
        intervalSeconds: policy.preflight?.intervalSeconds ?? 1,
        probePath: "/",
        // Which proof counts per origin, for origins that name one (`proof`).
        ...proofsSetting(origins),
      },
      gate: {
        maxIncreasePoints: policy.gate?.maxIncreasePoints ?? 2,
        floorPercent: policy.gate?.floorPercent ?? 1,
        baselineWindowSeconds: 300,
        periodSeconds: SANDBOX_GATE.periodSeconds,
        minDatapoints: policy.gate?.minDatapoints ?? SANDBOX_GATE.minDatapoints,
        metricsDeadlineSeconds: policy.gate?.metricsDeadlineSeconds ?? SANDBOX_GATE.metricsDeadlineSeconds,
        onNoData: policy.gate?.onNoData ?? SANDBOX_GATE.onNoData,
      },
      approval: {
        mode: policy.approval?.mode ?? "none",
        timeoutSeconds: policy.approval?.timeoutSeconds ?? 30,
        onTimeout: policy.approval?.onTimeout ?? "rollback",
      },
      graceSeconds: policy.graceSeconds ?? 1,
      revokeRetired: policy.revokeRetired ?? false,
      originServerCaPem: serverCa.certificatePem,
    };
    const trust = {
      bucketKey: SANDBOX_RESOURCES.bundleKey,
      bundleSecretName: SANDBOX_RESOURCES.bundleSecretName,
    };
    const wiring: SandboxWiring = {
      resource: {
        RotationTable: { name: SANDBOX_RESOURCES.table },
        TrustBundleBucket: { name: SANDBOX_RESOURCES.bucket },
        NotificationTopic: { arn: topicArn },
        RotationSettings: {
          rotation,
          trust,
          credentialsKeyArn: SANDBOX_RESOURCES.credentialsKeyArn,
          workflowRoleArn: SANDBOX_RESOURCES.workflowRoleArn,
          // As infra/rotation.ts links it: with rotation.authorityArn, the CAs whose certificates are managed.
          previousAuthorityArns: nextAuthority ? [authority.arn] : [],
        },
        RotationWorkflowStarter: SANDBOX_RESOURCES.workflow,
        TrackingSettings: {
          authorityArn: issuingAuthority.arn,
          previousAuthorityArns: nextAuthority ? [authority.arn] : [],
          trust,
          caRetirementGraceSeconds: policy.caRetirementGraceSeconds ?? 0,
        },
      },
      env: {
        AWS_REGION: "us-east-1",
        MTLS_ROTATOR_AWS_ENDPOINT: standins.endpoint,
        MTLS_ROTATOR_DYNAMODB_ENDPOINT: dynamo.endpoint,
      },
    };
    // The deployed wiring reads it (and refuses it, before anything runs, if it would refuse it in AWS).
    const config = wiringConfig(wiring);

    // What origins trust today, published to the workflow's own trust targets (origin-sync reads the object).
    await publishTrustBundle({
      targets: rotationDepsFrom(config, clients).trustTargets,
      currentChainPem: authority.trustPem,
      incomingChainPem: "",
      now: new Date(),
    });

    // The fleet was in service before the run: CloudFront has deployed every distribution (the edge serves
    // each one's certificate from the start, and the baselines measure real traffic) before anything happens.
    while (distributions.some((d) => standins.cloudfront.status(d.id) !== "Deployed"))
      await new Promise((resolve) => setTimeout(resolve, 50));

    return {
      standins,
      dynamo,
      clients,
      originKind: options.originKind,
      authority,
      ...(nextAuthority ? { nextAuthority } : {}),
      issuingAuthority,
      serverCaPem: serverCa.certificatePem,
      certificates,
      distributions,
      origins,
      topicArn,
      /** The origins' origin-sync calls so far, by "service:Operation" (a fresh object at each read). */
      get originSyncCalls() {
        return standins.server.callsByOperation("origin-sync");
      },
      dynamoCalls,
      store,
      inventory,
      wiring,
      config,
      close: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Counts each request `client` sends (retries included) into `calls`, by "dynamodb:Operation". */
export function countDynamoCalls<C extends DynamoDBClient>(client: C, calls: Record<string, number>): C {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = `dynamodb:${String(context.commandName ?? "").replace(/Command$/, "")}`;
      calls[operation] = (calls[operation] ?? 0) + 1;
      return next(args);
    },
    { step: "finalizeRequest", priority: "low", name: "sandboxDynamoCallCounter" },
  );
  return client;
}

function describeBehaviour(origin: SandboxOrigin): string {
  const spec = origin.spec;
  const parts: string[] = [];
  if (spec.down) parts.push("down");
  const trusts = spec.trustsNewIssuer ?? "now";
  if (trusts === "late") parts.push(`trusts the new issuer after ${spec.trustDelaySeconds} s`);
  if (trusts === "never") parts.push("never trusts the new issuer");
  if (spec.stopsTrustingAfterSwap) parts.push("stops trusting the new issuer after its swap");
  if (spec.slowMs) parts.push(`slow: +${spec.slowMs} ms per connection`);
  if (origin.front) parts.push("changes during the run");
  parts.push(...describeReachability(origin));
  return parts.length ? ` [${parts.join("; ")}]` : "";
}
