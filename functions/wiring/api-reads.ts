/**
 * Wiring of the read-only routes: GET /certificates, GET /certificates/{id} (the inventory), GET /viewer-mtls
 * (the viewer mTLS inventory), GET /rotations, GET /rotations/{id} (rotations and history); the decision routes (api-control.ts) read through it too.
 * They link the rotation table alone and read it with SigV4-signed fetches of DynamoDB's JSON API
 * (signed-table.ts): no SDK client, nothing here can issue, publish or start anything.
 */
import { InventoryReads } from "../adapters/inventory-reads.ts";
import { RotationPages } from "../adapters/rotation-pages.ts";
import { SignedTable } from "../adapters/signed-table.ts";
import type { AwsCredentials } from "../adapters/sigv4.ts";
import type { TableReads, TableWrites } from "../adapters/table-reads.ts";
import type { CertificatesDeps } from "../api/certificates.ts";
import type { ViewerMtlsDeps } from "../api/viewer-mtls.ts";
import { type AwsLocation, RESOURCE_LINKS, readLinks, type WiringSources } from "../config/links.ts";
import { deployed, oncePerColdStart } from "./cold-start.ts";

/** The routes that need the rotation table only. */
export interface TableApiConfig extends AwsLocation {
  tableName: string;
}

export function tableApiConfig(sources: WiringSources): TableApiConfig {
  const { links, location } = readLinks(sources, { RotationTable: RESOURCE_LINKS.RotationTable });
  return { ...location, tableName: links.RotationTable.name };
}

/** What the read wiring may be given: the table, or the credentials to sign its requests with. */
export interface TableReadClients {
  table?: TableReads & TableWrites;
  /** The environment's (the execution role's) when absent. */
  credentials?: AwsCredentials;
}

/** The table's reads (and a route's one write): signed requests to its region (or the local stand-in). */
export function tableReadsOf(
  config: TableApiConfig,
  clients: TableReadClients = {},
): TableReads & TableWrites {
  return (
    clients.table ??
    new SignedTable({
      tableName: config.tableName,
      region: config.region,
      ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}),
      ...(clients.credentials ? { credentials: clients.credentials } : {}),
    })
  );
}

export function certificatesDepsFrom(
  config: TableApiConfig,
  clients: TableReadClients = {},
): CertificatesDeps {
  return { inventory: new InventoryReads(tableReadsOf(config, clients)), now: () => new Date() };
}

/** Reading the viewer mTLS inventory (GET /viewer-mtls). */
export function viewerMtlsDepsFrom(config: TableApiConfig, clients: TableReadClients = {}): ViewerMtlsDeps {
  return { inventory: new InventoryReads(tableReadsOf(config, clients)) };
}

/** Reading rotations (GET /rotations, GET /rotations/{id}). */
export function rotationReadDepsFrom(
  config: TableApiConfig,
  clients: TableReadClients = {},
): { store: RotationPages } {
  return { store: new RotationPages(tableReadsOf(config, clients)) };
}

/** The deployed functions' dependencies, built on the first call of each cold start. */
export const certificatesApiDeps = oncePerColdStart(async () =>
  certificatesDepsFrom(tableApiConfig(deployed())),
);
export const viewerMtlsApiDeps = oncePerColdStart(async () => viewerMtlsDepsFrom(tableApiConfig(deployed())));
export const rotationReadApiDeps = oncePerColdStart(async () =>
  rotationReadDepsFrom(tableApiConfig(deployed())),
);
