/**
 * The whole operator surface on this machine, everything real except AWS control planes: the HTTP API
 * stand-in (SigV4 verified as API Gateway does, payload-2.0 events with the IAM principal) routing to the
 * REAL route handlers, whose dependencies come from the deployed wiring (`*DepsFrom` over linked-resource
 * configurations) pointed at the AWS stand-ins and dynalite; rotations started by the real dispatcher on the
 * local durable runner (real timers) running the real workflow, itself built by the deployed wiring
 * (`rotationDepsFrom`); decisions delivered through the local callback sender; the inventory filled by the
 * real scan (`scanDepsFrom` + `scanFleet`); origins are real mTLS servers on 127.0.0.1.
 *
 * The caller registers the local durable runner's environment (test/support/durable.ts, skipTime false:
 * time skipping would fake Date for the process, and SigV4 and TLS check the real clock).
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { CreateDistributionCommand } from "@aws-sdk/client-cloudfront";
import { type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { workflow } from "sst/aws/workflow";
import { AcmAdapter } from "../../functions/adapters/acm.ts";
import { RotationStore } from "../../functions/adapters/rotation-store.ts";
import type { HttpOptions } from "../../functions/api/http.ts";
import type { ScanTrigger } from "../../functions/api/scan-request.ts";
import type { CredentialProvider } from "../../functions/cli/api-client.ts";
import { OPERATOR_COMMANDS, type OperatorEnvironment, runOperatorCommand } from "../../functions/cli/main.ts";
import type { RotationSettings } from "../../functions/config/settings.ts";
import { ALREADY_STARTED, type WorkflowSdk } from "../../functions/dispatch/start-rotation.ts";
import { approveRotationHandler } from "../../functions/handlers/api/approve-rotation.ts";
import { approveViewerMigrationHandler } from "../../functions/handlers/api/approve-viewer-migration.ts";
import { getCertificateHandler } from "../../functions/handlers/api/get-certificate.ts";
import { getRotationHandler } from "../../functions/handlers/api/get-rotation.ts";
import { getViewerMigrationHandler } from "../../functions/handlers/api/get-viewer-migration.ts";
import { getViewerMtlsHandler } from "../../functions/handlers/api/get-viewer-mtls.ts";
import { getViewerRevocationHandler } from "../../functions/handlers/api/get-viewer-revocation.ts";
import { listCertificatesHandler } from "../../functions/handlers/api/list-certificates.ts";
import { listRotationsHandler } from "../../functions/handlers/api/list-rotations.ts";
import { listViewerMigrationsHandler } from "../../functions/handlers/api/list-viewer-migrations.ts";
import { reinstateViewerHandler } from "../../functions/handlers/api/reinstate-viewer.ts";
import { revokeViewerHandler } from "../../functions/handlers/api/revoke-viewer.ts";
import { rollbackRotationHandler } from "../../functions/handlers/api/rollback-rotation.ts";
import { rollbackViewerMigrationHandler } from "../../functions/handlers/api/rollback-viewer-migration.ts";
import { startRotationHandler } from "../../functions/handlers/api/start-rotation.ts";
import { startScanHandler } from "../../functions/handlers/api/start-scan.ts";
import { startViewerMigrationHandler } from "../../functions/handlers/api/start-viewer-migration.ts";
import { type ScanReport, scanFleet } from "../../functions/tracking/scan-fleet.ts";
import type { ApiScanRequest } from "../../functions/tracking/scan-trigger.ts";
import { controlDepsFrom } from "../../functions/wiring/api-control.ts";
import {
  certificatesDepsFrom,
  rotationReadDepsFrom,
  tableApiConfig,
  viewerMtlsDepsFrom,
} from "../../functions/wiring/api-reads.ts";
import { rotationRoutesDepsFrom, rotationsApiConfig } from "../../functions/wiring/api-rotations.ts";
import {
  viewerControlDepsFrom,
  viewerMigrationReadDepsFrom,
} from "../../functions/wiring/api-viewer-migrations.ts";
import {
  viewerRevocationWriteConfig,
  viewerRevocationWriteDepsFrom,
} from "../../functions/wiring/api-viewer-revocation-writes.ts";
import {
  viewerRevocationListConfig,
  viewerRevocationReadDepsFrom,
} from "../../functions/wiring/api-viewer-revocations.ts";
import { viewerMigrationsApiConfig, viewerStartDepsFrom } from "../../functions/wiring/api-viewer-start.ts";
import { scanDepsFrom } from "../../functions/wiring/scan.ts";
import { trackingConfig } from "../../functions/wiring/tracking.ts";
import { trustReconcilerFrom } from "../../functions/wiring/trust-reconciliation.ts";
import { rotationDepsFrom, wiringConfig } from "../../functions/wiring/workflow.ts";
import { createRotationWorkflow, type RotationInput } from "../../functions/workflow/rotation-workflow.ts";
import {
  type LocalWorkflowStarter,
  localCallbackSender,
  localWorkflowStarter,
} from "../../standins/durable.ts";
import {
  createRotationTable,
  DYNAMODB_STANDIN_CREDENTIALS,
  dynamoDbClient,
  startDynamoDb,
} from "../../standins/dynamodb.ts";
import { type HttpApiAccount, type HttpApiHandler, startHttpApi } from "../../standins/http-api.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { modelCheckedCallbackSender, modelCheckedStarter } from "../../standins/lambda.ts";
import {
  type CertificateAuthority,
  createRootCa,
  createSubordinateCa,
  type IssuedCredential,
  issueClientCredential,
  issueServerCredential,
} from "../../standins/pki.ts";
import { ACCOUNT_ID } from "../../standins/protocol.ts";
import { startTlsOrigin, type TlsOrigin } from "../../standins/tls-origin.ts";
import { lambdaContext } from "./api-events.ts";
import { buildDistributionConfig } from "./distribution-config.ts";
import { REAL_TIME_GATE, REAL_TIME_METRICS_DELAY_MS } from "./fleet.ts";
import { SteadyTraffic } from "./traffic.ts";

const DAY = 86_400_000;
const BIN = fileURLToPath(new URL("../../bin/mtls-rotator.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));

export const API_REGION = "us-east-1";
/** The workflow's role as its settings name it (infra/rotation.ts workflowRoleName). */
export const WORKFLOW_ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/mtls-rotator-test-RotationWorkflowRole`;
const TABLE = "mtls-rotator-operator";
const BUCKET = "mtls-rotator-operator-trust";
const BUNDLE_KEY = "trust/origin-client-ca.pem";
const BUNDLE_SECRET = "mtls-rotator/trust/origin-client-ca";
const KMS_KEY = `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/11111111-2222-4333-8444-555555555555`;

/** The operator: temporary credentials of an assumed-role session allowed to invoke every route. */
export const OPERATOR: HttpApiAccount = {
  accessKeyId: "ASIAOPERATOR00000001",
  secretAccessKey: "operator/secret/key/0000000000000000000",
  sessionToken: "IQoJb3JpZ2luX2VjEOPERATORSESSIONTOKEN",
  principalArn: "arn:aws:sts::123456789012:assumed-role/mtls-operator/alice",
  accountId: "123456789012",
};

/** One API answer as the route handler gave it to API Gateway. */
export interface RecordedAnswer {
  routeKey: string;
  status: number;
  body: string;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface OperatorStack {
  standins: Standins;
  dynamo: DynamoDBClient;
  store: RotationStore;
  api: { url: string; requests: Awaited<ReturnType<typeof startHttpApi>>["requests"] };
  starter: LocalWorkflowStarter;
  /**
   * From now on, executions the API starts are queued, as Lambda holds an asynchronous invoke before it
   * runs: accepted (the name is taken, its status RUNNING) but not run, so nothing changes behind the API's
   * back. What was started before goes on.
   */
  holdNewExecutions(): void;
  /** The names of the executions queued since holdNewExecutions, in order. */
  queuedExecutions(): string[];
  /** Every scan POST /scan asked for (the scan function's asynchronous invokes), in order. */
  scanRequests: ApiScanRequest[];
  settings: RotationSettings;
  authorityArn: string;
  issuer: CertificateAuthority;
  /** The managed certificate in service, presented by every distribution. */
  certificateArn: string;
  serial: string;
  credential: IssuedCredential;
  /** The viewer revocation list's KeyValueStore (linked as ViewerRevocationSettings). */
  revocationStoreArn: string;
  distributionIds: string[];
  origins: TlsOrigin[];
  topicArn: string;
  /** Every answer the route handlers gave, every log line any function wrote. */
  answers: RecordedAnswer[];
  logs: string[];
  /** Every command's output (in-process and child process), in order. */
  outputs: string[];
  /** One scheduled scan, as the deployed scan function runs it. */
  scan(): Promise<ScanReport>;
  /** `mtls-rotator <args>` in process, signing with `credentials` (the operator's by default). */
  cli(
    args: string[],
    options?: { credentials?: CredentialProvider; onStdout?: (text: string) => void },
  ): Promise<CliRun>;
  /** `node bin/mtls-rotator.ts <args>` in a child process, credentials from its environment only. */
  bin(args: string[]): Promise<CliRun>;
  /** Every item of the table, sorted, as text (strongly consistent scan). */
  tableItems(): Promise<string>;
  /** The certificate each distribution's origin presents, in distributionIds order. */
  presented(): string[];
  close(): Promise<void>;
}

export interface OperatorStackOptions {
  distributions: number;
  /** The stage's rotation settings (the linked RotationSettings.rotation), over fast real-time defaults. */
  settings?: Partial<RotationSettings>;
  /** CloudFront stand-in: how long an update stays InProgress. */
  deployDelayMs?: number;
}

/** `workflow.start` answered by the local starter, with Lambda's refusal of an execution name already used. */
function localWorkflowSdk(starter: LocalWorkflowStarter): WorkflowSdk {
  const start: WorkflowSdk["start"] = async (_resource, input) => {
    const result = await starter.start(input.name, input.payload as RotationInput);
    if (!result.started) {
      throw new workflow.StartError(
        new Response(JSON.stringify({ message: `execution ${input.name} already exists` }), {
          status: 409,
          headers: { "x-amzn-errortype": ALREADY_STARTED },
        }),
      );
    }
    return { arn: result.executionArn, statusCode: 202 } as Awaited<ReturnType<WorkflowSdk["start"]>>;
  };
  return { start, StartError: workflow.StartError };
}

/**
 * A local starter that, once told to hold, queues new executions instead of running them: Lambda's answers
 * (the first start of a name is accepted, a later one is not; a queued execution is RUNNING) without a run.
 */
function holdingStarter(local: LocalWorkflowStarter): {
  starter: LocalWorkflowStarter;
  hold(): void;
  queued: Set<string>;
} {
  let holding = false;
  const queued = new Set<string>();
  const arn = (name: string) =>
    `arn:aws:lambda:local:000000000000:function:rotation-workflow:$LATEST/durable-execution/${name}/queued`;
  return {
    hold: () => {
      holding = true;
    },
    queued,
    starter: {
      ...local,
      async start(name, payload) {
        if (!holding) return local.start(name, payload);
        if (queued.has(name) || local.execution(name)) return { started: false, executionArn: arn(name) };
        queued.add(name);
        return { started: true, executionArn: arn(name) };
      },
      async status(name) {
        return queued.has(name) ? "RUNNING" : local.status?.(name);
      },
    },
  };
}

export async function startOperatorStack(options: OperatorStackOptions): Promise<OperatorStack> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    // CloudWatch publishes CloudFront's datapoints a second late (REAL_TIME_GATE's second-long periods).
    const standins = await startStandins({
      deployDelayMs: options.deployDelayMs ?? 300,
      awsMetricsDelayMs: REAL_TIME_METRICS_DELAY_MS,
    });
    cleanups.push(() => standins.close());
    const dynamoServer = await startDynamoDb();
    cleanups.push(() => dynamoServer.close());
    const dynamo = dynamoDbClient(dynamoServer.endpoint);
    await createRotationTable(dynamo, TABLE);
    const store = new RotationStore(dynamo, { tableName: TABLE });

    // PKI: the Private CA replacements come from issued the certificate in service too.
    const root = await createRootCa({ name: "CN=Acme Root CA, O=Acme" });
    const issuer = await createSubordinateCa(root, { name: "CN=Acme Origin Client CA 1, O=Acme" });
    const authorityArn = standins.privateCa.addAuthority(issuer);
    const serverCa = await createRootCa({ name: "CN=Acme Origin Servers CA, O=Acme" });
    const serverIdentity = await issueServerCredential(serverCa);

    standins.s3.createBucket(BUCKET, { versioned: true });
    const topicArn = standins.sns.createTopic("mtls-rotator");
    // The viewer revocation list's store (the one the connection function would read).
    const revocationStoreArn = standins.keyValueStores.createStore("viewer-revocations");

    // The certificate in service: 90-day lifetime, 70 days left (renewal at a third of it left: Fresh).
    const credential = await issueClientCredential(issuer, {
      subject: "CN=cloudfront-to-origin, O=Acme",
      dnsNames: ["edge.acme.example"],
      keyAlgorithm: "EC_prime256v1",
      notBefore: new Date(Date.now() - 20 * DAY),
      notAfter: new Date(Date.now() + 70 * DAY),
    });
    const certificateArn = await new AcmAdapter(standins.clients().acm).importCertificate({
      ...credential,
      lineage: { rotationId: "initial", credential: "initial" },
    });
    const serial = new X509Certificate(credential.certificatePem).serialNumber.toLowerCase();

    // Real mTLS origins trusting the issuer, each behind a distribution presenting the certificate.
    const origins: TlsOrigin[] = [];
    const distributionIds: string[] = [];
    for (let i = 0; i < options.distributions; i += 1) {
      const origin = await startTlsOrigin({
        name: `origin-${i + 1}`,
        serverCertPem: serverIdentity.certificatePem,
        serverKeyPem: serverIdentity.privateKeyPem,
        clientCaPem: issuer.certificatePem + root.certificatePem,
      });
      cleanups.push(() => origin.close());
      origins.push(origin);
      const config = buildDistributionConfig({
        origins: 1,
        mtlsArns: [certificateArn],
        comment: `site ${i}`,
      });
      const item = config.Origins!.Items![0]!;
      item.DomainName = "127.0.0.1";
      item.CustomOriginConfig!.HTTPSPort = origin.port;
      const created = await standins
        .clients()
        .cloudfront.send(new CreateDistributionCommand({ DistributionConfig: config }));
      distributionIds.push(created.Distribution!.Id!);
    }

    // What infra/ links to the functions, and the Lambda environment pointing at the stand-ins.
    const rotation = {
      authorityArn,
      validityDays: 30,
      bakeSeconds: 1,
      deploy: { timeoutSeconds: 60, pollSeconds: 1 },
      preflight: { timeoutSeconds: 2, intervalSeconds: 1, probePath: "/" },
      gate: REAL_TIME_GATE,
      graceSeconds: 1,
      waves: { canarySize: 1, waves: [{ count: 1 }] },
      originServerCaPem: serverCa.certificatePem,
      ...options.settings,
    };
    const trust = { bucketKey: BUNDLE_KEY, bundleSecretName: BUNDLE_SECRET };
    const workflowLink = { name: "mtls-rotator-test-RotationWorkflow", qualifier: "1" };
    const resource = {
      RotationTable: { name: TABLE },
      TrustBundleBucket: { name: BUCKET },
      NotificationTopic: { arn: topicArn },
      RotationSettings: {
        rotation,
        trust,
        credentialsKeyArn: KMS_KEY,
        workflowRoleArn: WORKFLOW_ROLE_ARN,
      },
      RotationWorkflowStarter: workflowLink,
      // No viewer trust domain: every POST /viewer-migrations is refused (404 naming none).
      ViewerSettings: { domains: [] },
      ViewerMigrationWorkflowStarter: { name: "mtls-rotator-test-ViewerMigrationWorkflow", qualifier: "1" },
      TrackingSettings: { authorityArn, trust, caRetirementGraceSeconds: 0 },
      ViewerRevocationSettings: { storeArn: revocationStoreArn },
    };
    const env = {
      AWS_REGION: API_REGION,
      MTLS_ROTATOR_AWS_ENDPOINT: standins.endpoint,
      MTLS_ROTATOR_DYNAMODB_ENDPOINT: dynamoServer.endpoint,
    };
    const sources = { resource, env };
    const logs: string[] = [];
    const log = (message: string, data?: Record<string, unknown>) =>
      void logs.push(JSON.stringify({ message, ...data }));

    // The workflow as deployed (rotationDepsFrom); its store on the test's DynamoDB client (the wiring's
    // own client would sign with the machine's credential chain).
    const workflowConfig = wiringConfig(sources);
    const deployed = rotationDepsFrom(
      workflowConfig,
      standins.clients(),
      dynamoDbClient(dynamoServer.endpoint),
    );
    // Healthy traffic on every distribution: CloudFront's datapoints, published as the gate reads them.
    const traffic = new SteadyTraffic(standins, distributionIds, {
      periodSeconds: REAL_TIME_GATE.periodSeconds!,
      since: new Date(),
    });
    const workflowDeps = {
      ...deployed,
      metrics: traffic.wrap(deployed.metrics),
      store: new RotationStore(dynamoDbClient(dynamoServer.endpoint), { tableName: TABLE }),
      log,
    };
    const handler = createRotationWorkflow(workflow, workflowDeps);
    const local = localWorkflowStarter(() => new LocalDurableTestRunner({ handlerFunction: handler }));
    const queue = holdingStarter(local);
    const starter = modelCheckedStarter(queue.starter);

    // The API functions, each with the dependencies its own wiring builds.
    const tableConfig = tableApiConfig(sources);
    const callbacks = modelCheckedCallbackSender(localCallbackSender());
    // The read routes sign their own DynamoDB calls (no SDK client), with the stand-ins' credentials here.
    const tableReads = { credentials: DYNAMODB_STANDIN_CREDENTIALS };
    const certificates = certificatesDepsFrom(tableConfig, tableReads);
    const viewerMtls = viewerMtlsDepsFrom(tableConfig, tableReads);
    const reads = rotationReadDepsFrom(tableConfig, tableReads);
    const control = controlDepsFrom(tableConfig, { ...tableReads, callbacks });
    const rotations = rotationRoutesDepsFrom(rotationsApiConfig(sources), {
      aws: standins.clients(),
      dynamo,
      starter,
      callbacks,
    });
    // The KeyValueStore stand-in checks no signatures (the SigV4A signer is checked on its own,
    // test/adapters/viewer-revocations.test.ts): any credentials sign here.
    const kvsClients = { credentials: async () => DYNAMODB_STANDIN_CREDENTIALS };
    const revocationReads = viewerRevocationReadDepsFrom(viewerRevocationListConfig(sources), kvsClients);
    const revocationWrites = viewerRevocationWriteDepsFrom(viewerRevocationWriteConfig(sources), {
      ...kvsClients,
      sns: standins.clients().sns,
    });
    const viewerReads = viewerMigrationReadDepsFrom(tableConfig, tableReads);
    const viewerControl = viewerControlDepsFrom(tableConfig, { ...tableReads, callbacks });
    const viewerStart = viewerStartDepsFrom(viewerMigrationsApiConfig(sources), {
      ...tableReads,
      starter: {
        start: async () => {
          throw new Error("this stack configures no viewer trust domain: no viewer migration may start");
        },
      },
    });
    const http: HttpOptions = {
      log: (level, message, data) => void logs.push(JSON.stringify({ level, message, ...data })),
    };
    const answers: RecordedAnswer[] = [];
    const scanRequests: ApiScanRequest[] = [];
    const scanTrigger: ScanTrigger = { trigger: async (request) => void scanRequests.push(request) };
    type RouteHandler = (event: never, context: never) => Promise<unknown>;
    const route =
      (routeKey: string, lambda: RouteHandler): HttpApiHandler =>
      async (event) => {
        const result = (await lambda(
          event as never,
          lambdaContext() as never,
        )) as APIGatewayProxyStructuredResultV2;
        answers.push({ routeKey, status: result.statusCode ?? 200, body: result.body ?? "" });
        return result;
      };
    const handlers: Record<string, RouteHandler> = {
      "GET /certificates": listCertificatesHandler(async () => certificates, http),
      "GET /certificates/{id}": getCertificateHandler(async () => certificates, http),
      "POST /rotations": startRotationHandler(async () => rotations, http),
      "GET /rotations": listRotationsHandler(async () => reads, http),
      "GET /rotations/{id}": getRotationHandler(async () => reads, http),
      "POST /rotations/{id}/rollback": rollbackRotationHandler(async () => control, http),
      "POST /rotations/{id}/approve": approveRotationHandler(async () => control, http),
      "POST /scan": startScanHandler(async () => ({ scan: scanTrigger }), http),
      "POST /viewer-revocations": revokeViewerHandler(async () => revocationWrites, http),
      "GET /viewer-revocations/{serial}": getViewerRevocationHandler(async () => revocationReads, http),
      "DELETE /viewer-revocations/{serial}": reinstateViewerHandler(async () => revocationWrites, http),
      "POST /viewer-migrations": startViewerMigrationHandler(async () => viewerStart, http),
      "GET /viewer-migrations": listViewerMigrationsHandler(async () => viewerReads, http),
      "GET /viewer-migrations/{id}": getViewerMigrationHandler(async () => viewerReads, http),
      "POST /viewer-migrations/{id}/approve": approveViewerMigrationHandler(async () => viewerControl, http),
      "POST /viewer-migrations/{id}/rollback": rollbackViewerMigrationHandler(
        async () => viewerControl,
        http,
      ),
      "GET /viewer-mtls": getViewerMtlsHandler(async () => viewerMtls, http),
    };
    const api = await startHttpApi({
      region: API_REGION,
      accounts: [OPERATOR],
      routes: Object.fromEntries(Object.entries(handlers).map(([key, h]) => [key, route(key, h)])),
    });
    cleanups.push(() => api.close());

    // The scheduled scan as deployed (scanDepsFrom), its dispatcher starting on the same local runner.
    const aws = standins.clients();
    const trackingWiring = trackingConfig(sources);
    const scanClients = { ...aws, dynamo, privateCa: () => aws.privateCa };
    const scanDeps = await scanDepsFrom(trackingWiring, {
      clients: scanClients,
      workflowSdk: localWorkflowSdk(starter),
      writeMetrics: (line) => void logs.push(line),
      log,
      // Trust reconciliation in process: what the deployed TrustReconciliation function runs.
      reconcile: await trustReconcilerFrom(trackingWiring, { clients: scanClients, log }),
    });

    const outputs: string[] = [];
    const operatorCredentials: CredentialProvider = async () => ({
      accessKeyId: OPERATOR.accessKeyId,
      secretAccessKey: OPERATOR.secretAccessKey,
      sessionToken: OPERATOR.sessionToken,
    });
    const home = await mkdtemp(join(tmpdir(), "mtls-rotator-operator-"));
    cleanups.push(() => rm(home, { recursive: true, force: true }));

    return {
      standins,
      dynamo,
      store,
      api,
      starter,
      holdNewExecutions: () => queue.hold(),
      queuedExecutions: () => [...queue.queued],
      scanRequests,
      settings: workflowConfig.settings,
      authorityArn,
      issuer,
      certificateArn,
      serial,
      credential,
      distributionIds,
      origins,
      topicArn,
      revocationStoreArn,
      answers,
      logs,
      outputs,
      scan: () => scanFleet(scanDeps),
      async cli(args, cliOptions = {}) {
        const [name, ...rest] = args;
        const spec = OPERATOR_COMMANDS.find((c) => c.name === name);
        if (!spec) throw new Error(`no operator command ${name}`);
        const out: string[] = [];
        const err: string[] = [];
        const environment: OperatorEnvironment = {
          env: { MTLS_ROTATOR_API_URL: api.url, AWS_REGION: API_REGION },
          credentials: cliOptions.credentials ?? operatorCredentials,
          isTTY: false,
        };
        const code = await runOperatorCommand(
          spec,
          rest,
          {
            stdout: (t) => {
              out.push(t);
              cliOptions.onStdout?.(t);
            },
            stderr: (t) => void err.push(t),
          },
          environment,
        );
        const run = { code, stdout: out.join(""), stderr: err.join("") };
        outputs.push(run.stdout, run.stderr);
        return run;
      },
      bin(args) {
        // Nothing from the developer's AWS setup: the operator's credentials come from the environment.
        const childEnv = {
          PATH: process.env.PATH ?? "",
          HOME: home,
          AWS_CONFIG_FILE: join(home, "no-config"),
          AWS_SHARED_CREDENTIALS_FILE: join(home, "no-credentials"),
          AWS_EC2_METADATA_DISABLED: "true",
          MTLS_ROTATOR_API_URL: api.url,
          AWS_REGION: API_REGION,
          AWS_ACCESS_KEY_ID: OPERATOR.accessKeyId,
          AWS_SECRET_ACCESS_KEY: OPERATOR.secretAccessKey,
          AWS_SESSION_TOKEN: OPERATOR.sessionToken!,
        };
        return new Promise((resolve) => {
          execFile(
            process.execPath,
            [BIN, ...args],
            { cwd: REPO, env: childEnv, timeout: 30_000, encoding: "utf8" },
            (error, stdout, stderr) => {
              const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
              outputs.push(stdout, stderr);
              resolve({ code, stdout, stderr });
            },
          );
        });
      },
      async tableItems() {
        const out = await dynamo.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }));
        return JSON.stringify((out.Items ?? []).map((item) => JSON.stringify(item)).sort(), null, 1);
      },
      presented: () =>
        distributionIds.map((id) => standins.cloudfront.originCertificates(id)["origin-1"] ?? "(none)"),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
