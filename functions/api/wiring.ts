/**
 * Wiring of the API functions: the one place they read SST's `Resource` and the environment. Each route's
 * function reads only the links its use-case needs (so each can be linked, and granted, only those):
 *
 * | routes                                  | links                                                        |
 * |-----------------------------------------|--------------------------------------------------------------|
 * | GET /certificates, GET /certificates/id | `RotationTable.name`                                         |
 * | GET /rotations, GET /rotations/id       | `RotationTable.name`                                         |
 * | POST /rotations/id/rollback, /approve   | `RotationTable.name` (durable callbacks: the Lambda API)     |
 * | POST /rotations                         | `RotationTable.name`, `RotationSettings` { rotation, trust },|
 * |                                         | `TrustBundleBucket.name` (trust target names in dry-run      |
 * |                                         | plans), `RotationWorkflowStarter` { name, qualifier }        |
 * | POST /scan                              | `ScanFunction.name`                                          |
 *
 * Environment as for every function (functions/handlers/wiring.ts): `AWS_REGION`, optional
 * `MTLS_ROTATOR_AWS_ENDPOINT` / `MTLS_ROTATOR_DYNAMODB_ENDPOINT` (local stand-ins). Missing or malformed
 * configuration fails with a WiringError naming every problem (the API answers 500 and logs it).
 */

import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { Resource } from "sst";
import type { workflow } from "sst/aws/workflow";
import { AcmAdapter } from "../adapters/acm.ts";
import { type AwsClients, createAwsClients, regionOfArn } from "../adapters/clients.ts";
import { CloudFrontAdapter } from "../adapters/cloudfront.ts";
import { lambdaCallbackSender } from "../adapters/durable-callbacks.ts";
import { InventoryStore } from "../adapters/inventory-store.ts";
import { PrivateCaAdapter } from "../adapters/private-ca.ts";
import { RotationStore } from "../adapters/rotation-store.ts";
import type { CallbackSender } from "../dispatch/control-rotation.ts";
import { sstWorkflowStarter, type WorkflowSdk, type WorkflowStarter } from "../dispatch/start-rotation.ts";
import {
  awsLocation,
  BUCKET_NAME,
  BUNDLE_KEY,
  dynamoDbClientFor,
  FUNCTION_NAME,
  LINKS,
  linkReader,
  managedIssuersOf,
  objectField,
  oncePerColdStart,
  QUALIFIER,
  rotationSettingsField,
  SECRET_NAME,
  TRACKING_LINKS,
  type TrustBundleConfig,
  trustTargetsField,
  trustTargetsFrom,
  WiringError,
  type WiringSources,
} from "../handlers/wiring.ts";
import type { RotationSettings } from "../workflow/settings.ts";
import type { CertificatesDeps } from "./certificates.ts";
import type { RotationRoutesDeps } from "./rotations.ts";
import { lambdaScanTrigger, type ScanApiDeps } from "./scan-request.ts";

export const API_LINKS = {
  table: LINKS.table,
  bucket: LINKS.bucket,
  settings: LINKS.settings,
  workflow: TRACKING_LINKS.workflow,
  scan: "ScanFunction",
} as const;

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const PCA_ARN = /^arn:aws[\w-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority\/[0-9a-f-]{36}$/;

interface Location {
  region: string;
  endpoint?: string;
  dynamodbEndpoint?: string;
}

/** The routes that need the rotation table only. */
export interface TableApiConfig extends Location {
  tableName: string;
}

export interface RotationsApiConfig extends Location, TrustBundleConfig {
  tableName: string;
  settings: RotationSettings;
  /** The configured CA, then the CAs being migrated away from: certificates they issued are managed. */
  authorityArns: string[];
  /** The durable workflow rotations are started on (a qualified invoke). */
  workflow: workflow.Resource;
}

export interface ScanApiConfig extends Location {
  functionName: string;
}

function location(sources: WiringSources, problems: string[]): Location {
  const { region, endpoint, dynamodbEndpoint } = awsLocation(sources, problems);
  return { region, ...(endpoint ? { endpoint } : {}), ...(dynamodbEndpoint ? { dynamodbEndpoint } : {}) };
}

export function tableApiConfig(sources: WiringSources): TableApiConfig {
  const problems: string[] = [];
  const { link, text } = linkReader(sources, problems);
  const where = location(sources, problems);
  const tableName = text(link(API_LINKS.table), `${API_LINKS.table}.name`, "name", TABLE_NAME);
  if (problems.length > 0) throw new WiringError(problems);
  return { ...where, tableName };
}

export function rotationsApiConfig(sources: WiringSources): RotationsApiConfig {
  const problems: string[] = [];
  const { link, text } = linkReader(sources, problems);
  const where = location(sources, problems);
  const tableName = text(link(API_LINKS.table), `${API_LINKS.table}.name`, "name", TABLE_NAME);
  const bucketName = text(link(API_LINKS.bucket), `${API_LINKS.bucket}.name`, "name", BUCKET_NAME);
  const linkedWorkflow = link(API_LINKS.workflow);
  const workflowName = text(linkedWorkflow, `${API_LINKS.workflow}.name`, "name", FUNCTION_NAME);
  const qualifier = text(linkedWorkflow, `${API_LINKS.workflow}.qualifier`, "qualifier", QUALIFIER);

  const path = API_LINKS.settings;
  const linkedSettings = link(path);
  const trust = objectField(linkedSettings, `${path}.trust`, "trust", problems);
  const bundleKey = text(trust, `${path}.trust.bucketKey`, "bucketKey", BUNDLE_KEY);
  const bundleSecretName = text(trust, `${path}.trust.bundleSecretName`, "bundleSecretName", SECRET_NAME);
  const targets = trustTargetsField(trust, `${path}.trust.targets`, problems);
  const settings = rotationSettingsField(linkedSettings, path, problems);
  const previous = linkedSettings?.previousAuthorityArns ?? [];
  const previousAuthorityArns: string[] = [];
  if (!Array.isArray(previous))
    problems.push(`${path}.previousAuthorityArns must be a list of Private CA ARNs`);
  else
    for (const arn of previous) {
      if (typeof arn === "string" && PCA_ARN.test(arn)) previousAuthorityArns.push(arn);
      else problems.push(`${path}.previousAuthorityArns has a malformed ARN: ${JSON.stringify(arn)}`);
    }

  if (problems.length > 0 || !settings) throw new WiringError(problems);
  return {
    ...where,
    tableName,
    bucketName,
    bundleKey,
    bundleSecretName,
    targets,
    settings,
    authorityArns: [...new Set([settings.authorityArn, ...previousAuthorityArns])],
    workflow: { name: workflowName, qualifier },
  };
}

export function scanApiConfig(sources: WiringSources): ScanApiConfig {
  const problems: string[] = [];
  const { link, text } = linkReader(sources, problems);
  const where = location(sources, problems);
  const functionName = text(link(API_LINKS.scan), `${API_LINKS.scan}.name`, "name", FUNCTION_NAME);
  if (problems.length > 0) throw new WiringError(problems);
  return { ...where, functionName };
}

function lambdaClientFor(config: Location): LambdaClient {
  return new LambdaClient({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    maxAttempts: 5,
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 3_000, throwOnRequestTimeout: true },
  });
}

export function certificatesDepsFrom(
  config: TableApiConfig,
  clients: { dynamo?: DynamoDBClient } = {},
): CertificatesDeps {
  const dynamo = clients.dynamo ?? dynamoDbClientFor(config);
  return {
    inventory: new InventoryStore(dynamo, { tableName: config.tableName }),
    now: () => new Date(),
  };
}

/** Reading rotations (GET /rotations, GET /rotations/{id}). */
export function rotationReadDepsFrom(
  config: TableApiConfig,
  clients: { dynamo?: DynamoDBClient } = {},
): Pick<RotationRoutesDeps, "store"> {
  return {
    store: new RotationStore(clients.dynamo ?? dynamoDbClientFor(config), { tableName: config.tableName }),
  };
}

/** Operators' decisions (rollback, approve): the control point in the table, the callback through Lambda. */
export function controlDepsFrom(
  config: TableApiConfig,
  clients: { dynamo?: DynamoDBClient; lambda?: LambdaClient; callbacks?: CallbackSender } = {},
): Pick<RotationRoutesDeps, "store" | "callbacks"> {
  return {
    ...rotationReadDepsFrom(config, clients),
    callbacks: clients.callbacks ?? lambdaCallbackSender(clients.lambda ?? lambdaClientFor(config)),
  };
}

/** What tests (and the sandbox) may put in place of the clients and ports built from the configuration. */
export interface RotationsApiClients {
  aws?: AwsClients;
  dynamo?: DynamoDBClient;
  lambda?: LambdaClient;
  starter?: WorkflowStarter;
  callbacks?: CallbackSender;
  workflowSdk?: WorkflowSdk;
}

export function rotationRoutesDepsFrom(
  config: RotationsApiConfig,
  clients: RotationsApiClients = {},
): RotationRoutesDeps {
  const aws =
    clients.aws ??
    createAwsClients({
      region: config.region,
      privateCaRegion: regionOfArn(config.settings.authorityArn),
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    });
  const dynamo = clients.dynamo ?? dynamoDbClientFor(config);
  const lambda = clients.lambda ?? lambdaClientFor(config);
  return {
    settings: config.settings,
    acm: new AcmAdapter(aws.acm),
    distributions: new CloudFrontAdapter(aws.cloudfront),
    // The configured CA's own certificate: a plan's replacement key follows its key.
    privateCa: new PrivateCaAdapter(aws.privateCa),
    // Built only to name them in dry-run plans; the API never publishes a bundle.
    trustTargets: trustTargetsFrom(config, aws),
    store: new RotationStore(dynamo, { tableName: config.tableName }),
    // Issuer names of the configured CAs, read once per container (the scan derives them the same way).
    managedIssuers: oncePerColdStart(() =>
      managedIssuersOf(config.authorityArns, (arn) =>
        new PrivateCaAdapter(
          // Injected clients (tests, sandbox) serve every region; deployed, a CA elsewhere gets its own client.
          arn === config.settings.authorityArn || clients.aws
            ? aws.privateCa
            : createAwsClients({
                region: config.region,
                privateCaRegion: regionOfArn(arn),
                ...(config.endpoint ? { endpoint: config.endpoint } : {}),
              }).privateCa,
        ).authorityChainPem(arn),
      ),
    ),
    starter: clients.starter ?? sstWorkflowStarter(config.workflow, clients.workflowSdk),
    callbacks: clients.callbacks ?? lambdaCallbackSender(lambda),
  };
}

export function scanApiDepsFrom(config: ScanApiConfig, clients: { lambda?: LambdaClient } = {}): ScanApiDeps {
  return { scan: lambdaScanTrigger(clients.lambda ?? lambdaClientFor(config), config.functionName) };
}

const deployed = (): WiringSources => ({ resource: Resource, env: process.env });

/** The deployed functions' dependencies, built on the first call of each cold start. */
export const certificatesApiDeps = oncePerColdStart(async () =>
  certificatesDepsFrom(tableApiConfig(deployed())),
);
export const rotationReadApiDeps = oncePerColdStart(async () =>
  rotationReadDepsFrom(tableApiConfig(deployed())),
);
export const controlApiDeps = oncePerColdStart(async () => controlDepsFrom(tableApiConfig(deployed())));
export const rotationsApiDeps = oncePerColdStart(async () =>
  rotationRoutesDepsFrom(rotationsApiConfig(deployed())),
);
export const scanApiDeps = oncePerColdStart(async () => scanApiDepsFrom(scanApiConfig(deployed())));
