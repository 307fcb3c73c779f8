/**
 * Wiring of the read-only routes: GET /certificates, GET /certificates/{id} (the inventory), GET /rotations,
 * GET /rotations/{id} (rotations and history). They link the rotation table alone and build one DynamoDB
 * client; nothing here can issue, publish or start anything.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { InventoryStore } from "../adapters/inventory-store.ts";
import { RotationStore } from "../adapters/rotation-store.ts";
import type { CertificatesDeps } from "../api/certificates.ts";
import type { RotationRoutesDeps } from "../api/rotations.ts";
import { type AwsLocation, RESOURCE_LINKS, readLinks, type WiringSources } from "../config/links.ts";
import { dynamoDbConfig } from "./clients.ts";
import { deployed, oncePerColdStart } from "./cold-start.ts";

/** The routes that need the rotation table only. */
export interface TableApiConfig extends AwsLocation {
  tableName: string;
}

export function tableApiConfig(sources: WiringSources): TableApiConfig {
  const { links, location } = readLinks(sources, { RotationTable: RESOURCE_LINKS.RotationTable });
  return { ...location, tableName: links.RotationTable.name };
}

export function certificatesDepsFrom(
  config: TableApiConfig,
  clients: { dynamo?: DynamoDBClient } = {},
): CertificatesDeps {
  const dynamo = clients.dynamo ?? new DynamoDBClient(dynamoDbConfig(config));
  return { inventory: new InventoryStore(dynamo, { tableName: config.tableName }), now: () => new Date() };
}

/** Reading rotations (GET /rotations, GET /rotations/{id}). */
export function rotationReadDepsFrom(
  config: TableApiConfig,
  clients: { dynamo?: DynamoDBClient } = {},
): Pick<RotationRoutesDeps, "store"> {
  const dynamo = clients.dynamo ?? new DynamoDBClient(dynamoDbConfig(config));
  return { store: new RotationStore(dynamo, { tableName: config.tableName }) };
}

/** The deployed functions' dependencies, built on the first call of each cold start. */
export const certificatesApiDeps = oncePerColdStart(async () =>
  certificatesDepsFrom(tableApiConfig(deployed())),
);
export const rotationReadApiDeps = oncePerColdStart(async () =>
  rotationReadDepsFrom(tableApiConfig(deployed())),
);
