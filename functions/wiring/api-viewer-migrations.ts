import { lambdaCallbackSender } from "../adapters/durable-callbacks.ts";
import { ViewerMigrationReads } from "../adapters/viewer-migration-reads.ts";
import type { ViewerMigrationRoutesDeps } from "../api/viewer-migrations.ts";
import type { CallbackSender } from "../dispatch/control-rotation.ts";
import { type TableApiConfig, type TableReadClients, tableApiConfig, tableReadsOf } from "./api-reads.ts";
import { deployed, oncePerColdStart } from "./cold-start.ts";

/** Reading migrations (GET /viewer-migrations, GET /viewer-migrations/{id}). */
export function viewerMigrationReadDepsFrom(
  config: TableApiConfig,
  clients: TableReadClients = {},
): Pick<ViewerMigrationRoutesDeps, "reads"> {
  return { reads: new ViewerMigrationReads(tableReadsOf(config, clients)) };
}

/**
 * Deciding (POST /viewer-migrations/{id}/approve, /rollback): the record, and its callback answered; a
 * rollback asked for while no approval is open is recorded (a conditional PutItem: only the rollback route
 * may, infra/api.ts).
 */
export function viewerControlDepsFrom(
  config: TableApiConfig,
  clients: TableReadClients & { callbacks?: CallbackSender } = {},
): Pick<ViewerMigrationRoutesDeps, "reads" | "callbacks"> {
  const table = tableReadsOf(config, clients);
  return {
    reads: new ViewerMigrationReads(table, { writes: table }),
    callbacks: clients.callbacks ?? lambdaCallbackSender(),
  };
}

/** The deployed functions' dependencies, built on the first call of each cold start. */
export const viewerMigrationReadApiDeps = oncePerColdStart(async () =>
  viewerMigrationReadDepsFrom(tableApiConfig(deployed())),
);
export const viewerControlApiDeps = oncePerColdStart(async () =>
  viewerControlDepsFrom(tableApiConfig(deployed())),
);
