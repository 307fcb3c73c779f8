/**
 * Wiring of POST /rotations: plans (dry runs) and starts rotations. It links the rotation table, the
 * workflow's settings (RotationSettings: policy, trust targets to name in plans, the managed CAs), the bundle
 * bucket (its name is a target's) and the workflow's name and qualifier (RotationWorkflowStarter). It reads
 * the certificate (ACM), the fleet (CloudFront) and the CAs' own certificates (Private CA); it never issues,
 * publishes or swaps anything, so none of that code is here.
 */
import { ACMClient } from "@aws-sdk/client-acm";
import { CloudFrontClient } from "@aws-sdk/client-cloudfront";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { workflow } from "sst/aws/workflow";
import { AcmAdapter } from "../adapters/acm.ts";
import { CloudFrontAdapter } from "../adapters/cloudfront.ts";
import { PrivateCaAdapter } from "../adapters/private-ca.ts";
import { RollbackRequests } from "../adapters/rollback-requests.ts";
import { documentTableWrites, RotationStore, toDocumentClient } from "../adapters/rotation-store.ts";
import type { RotationRequestDeps, RotationRoutesDeps } from "../api/rotations.ts";
import type { AwsLocation, WiringSources } from "../config/links.ts";
import type { RotationSettings } from "../config/settings.ts";
import { managedAuthorityArns, readNamedLinks } from "../config/settings-links.ts";
import type { CallbackSender } from "../dispatch/control-rotation.ts";
import { sstWorkflowStarter, type WorkflowSdk, type WorkflowStarter } from "../dispatch/start-rotation.ts";
import { managedAuthoritiesOf } from "./authorities.ts";
import type { AwsClients } from "./aws-clients.ts";
import { CLOUDFRONT_REGION, clientConfig, dynamoDbConfig, regionOfArn } from "./clients.ts";
import { deployed, oncePerColdStart } from "./cold-start.ts";
import { privateCaClients } from "./private-ca-clients.ts";
import { type TrustBundleConfig, trustBundleOf } from "./trust-bundle.ts";
import { trustTargetNames } from "./trust-target-names.ts";

export interface RotationsApiConfig extends AwsLocation, TrustBundleConfig {
  region: string;
  tableName: string;
  settings: RotationSettings;
  /** The configured CA, then the CAs being migrated away from: certificates they issued are managed. */
  authorityArns: string[];
  /** The durable workflow rotations are started on (a qualified invoke). */
  workflow: workflow.Resource;
}

export function rotationsApiConfig(sources: WiringSources): RotationsApiConfig {
  const { links, location } = readNamedLinks(sources, [
    "RotationTable",
    "TrustBundleBucket",
    "RotationSettings",
    "RotationWorkflowStarter",
  ]);
  const linked = links.RotationSettings;
  return {
    ...location,
    tableName: links.RotationTable.name,
    ...trustBundleOf(links.TrustBundleBucket, linked.trust),
    settings: linked.rotation,
    authorityArns: managedAuthorityArns({
      authorityArn: linked.rotation.authorityArn,
      previousAuthorityArns: linked.previousAuthorityArns,
    }),
    workflow: {
      name: links.RotationWorkflowStarter.name,
      qualifier: links.RotationWorkflowStarter.qualifier,
    },
  };
}

/** What tests (and the sandbox) may put in place of the clients and ports built from the configuration. */
export interface RotationsApiClients {
  aws?: Pick<AwsClients, "acm" | "cloudfront" | "privateCa">;
  dynamo?: DynamoDBClient;
  starter?: WorkflowStarter;
  /** Only tests and the sandbox, which drive control points through the same deps, pass one. */
  callbacks?: CallbackSender;
  workflowSdk?: WorkflowSdk;
}

export function rotationRoutesDepsFrom(
  config: RotationsApiConfig,
  clients: RotationsApiClients & { callbacks: CallbackSender },
): RotationRoutesDeps;
export function rotationRoutesDepsFrom(
  config: RotationsApiConfig,
  clients?: RotationsApiClients,
): RotationRequestDeps;
export function rotationRoutesDepsFrom(
  config: RotationsApiConfig,
  clients: RotationsApiClients = {},
): RotationRequestDeps & { callbacks?: CallbackSender } {
  const privateCaIn = privateCaClients(config);
  const caRegion = (arn: string) => regionOfArn(arn) ?? config.region;
  const aws = clients.aws ?? {
    acm: new ACMClient(clientConfig(config, CLOUDFRONT_REGION)),
    cloudfront: new CloudFrontClient(clientConfig(config, CLOUDFRONT_REGION)),
    privateCa: privateCaIn(caRegion(config.settings.authorityArn)),
  };
  const dynamo = clients.dynamo ?? new DynamoDBClient(dynamoDbConfig(config));
  const store = new RotationStore(dynamo, { tableName: config.tableName });
  return {
    settings: config.settings,
    acm: new AcmAdapter(aws.acm),
    distributions: new CloudFrontAdapter(aws.cloudfront),
    // The configured CA's own certificate: a plan's replacement key follows its key.
    privateCa: new PrivateCaAdapter(aws.privateCa),
    // Named in dry-run plans; the API never publishes a bundle.
    trustTargets: trustTargetNames(config),
    store,
    // Which rotation changes each planned distribution now (a dry run's plan shows whom it would wait for).
    claims: store,
    // The configured CAs (name and key), read once per container (the scan derives them the same way).
    managedAuthorities: oncePerColdStart(() =>
      managedAuthoritiesOf(config.authorityArns, (arn) =>
        new PrivateCaAdapter(
          // Injected clients (tests, sandbox) serve every region; deployed, a CA elsewhere gets its own client.
          arn === config.settings.authorityArn || clients.aws ? aws.privateCa : privateCaIn(caRegion(arn)),
        ).authorityChainPem(arn),
      ),
    ),
    starter: clients.starter ?? sstWorkflowStarter(config.workflow, clients.workflowSdk),
    // Decisions driven through these deps (tests, sandbox) record rollbacks between control points too.
    ...(clients.callbacks
      ? {
          callbacks: clients.callbacks,
          rollbackRequests: new RollbackRequests(
            documentTableWrites(toDocumentClient(dynamo), config.tableName),
          ),
          now: () => new Date(),
        }
      : {}),
  };
}

export const rotationsApiDeps = oncePerColdStart(async () =>
  rotationRoutesDepsFrom(rotationsApiConfig(deployed())),
);
