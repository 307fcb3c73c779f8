/**
 * Wiring of the viewer CA migration routes. Every one reads the rotation table (where the workflow keeps its
 * migrations) with SigV4-signed fetches, as the rotation routes do (api-reads.ts): no SDK client. POST
 * /viewer-migrations also links the stage's viewer trust domains (ViewerSettings) and the workflow's name and
 * qualifier (ViewerMigrationWorkflowStarter: a durable start is a qualified invoke, sst/aws/client's signed
 * fetch); the decision routes answer the migration's durable callback (durable-callbacks.ts).
 */
import type { workflow } from "sst/aws/workflow";
import { lambdaCallbackSender } from "../adapters/durable-callbacks.ts";
import { ViewerMigrationReads } from "../adapters/viewer-migration-reads.ts";
import type { ViewerMigrationRoutesDeps } from "../api/viewer-migrations.ts";
import type { WiringSources } from "../config/links.ts";
import { readNamedLinks } from "../config/settings-links.ts";
import type { ViewerTrustDomain } from "../config/viewer-settings.ts";
import type { CallbackSender } from "../dispatch/control-rotation.ts";
import { sstWorkflowStarter, type WorkflowSdk, type WorkflowStarter } from "../dispatch/start-rotation.ts";
import type { ViewerMigrationInput } from "../workflow/viewer-migration.ts";
import { type TableApiConfig, type TableReadClients, tableApiConfig, tableReadsOf } from "./api-reads.ts";
import { deployed, oncePerColdStart } from "./cold-start.ts";

/** POST /viewer-migrations: the table, the domains, the workflow. */
export interface ViewerMigrationsApiConfig extends TableApiConfig {
  domains: ViewerTrustDomain[];
  workflow: workflow.Resource;
}

export function viewerMigrationsApiConfig(sources: WiringSources): ViewerMigrationsApiConfig {
  const { links, location } = readNamedLinks(sources, [
    "RotationTable",
    "ViewerSettings",
    "ViewerMigrationWorkflowStarter",
  ]);
  return {
    ...location,
    tableName: links.RotationTable.name,
    domains: links.ViewerSettings.domains,
    workflow: {
      name: links.ViewerMigrationWorkflowStarter.name,
      qualifier: links.ViewerMigrationWorkflowStarter.qualifier,
    },
  };
}

/** Reading migrations (GET /viewer-migrations, GET /viewer-migrations/{id}). */
export function viewerMigrationReadDepsFrom(
  config: TableApiConfig,
  clients: TableReadClients = {},
): Pick<ViewerMigrationRoutesDeps, "reads"> {
  return { reads: new ViewerMigrationReads(tableReadsOf(config, clients)) };
}

/** Deciding (POST /viewer-migrations/{id}/approve, /rollback): the record, and its callback answered. */
export function viewerControlDepsFrom(
  config: TableApiConfig,
  clients: TableReadClients & { callbacks?: CallbackSender } = {},
): Pick<ViewerMigrationRoutesDeps, "reads" | "callbacks"> {
  return {
    ...viewerMigrationReadDepsFrom(config, clients),
    callbacks: clients.callbacks ?? lambdaCallbackSender(),
  };
}

/** Starting (POST /viewer-migrations). */
export function viewerStartDepsFrom(
  config: ViewerMigrationsApiConfig,
  clients: TableReadClients & {
    starter?: WorkflowStarter<ViewerMigrationInput>;
    workflowSdk?: WorkflowSdk;
  } = {},
): Pick<ViewerMigrationRoutesDeps, "domains" | "reads" | "starter" | "now"> {
  // Whether a migration runs is the domain's lock and its recorded status (no execution listing).
  return {
    ...viewerMigrationReadDepsFrom(config, clients),
    domains: config.domains,
    starter:
      clients.starter ?? sstWorkflowStarter<ViewerMigrationInput>(config.workflow, clients.workflowSdk),
    now: () => new Date(),
  };
}

/** The deployed functions' dependencies, built on the first call of each cold start. */
export const viewerMigrationReadApiDeps = oncePerColdStart(async () =>
  viewerMigrationReadDepsFrom(tableApiConfig(deployed())),
);
export const viewerControlApiDeps = oncePerColdStart(async () =>
  viewerControlDepsFrom(tableApiConfig(deployed())),
);
export const viewerStartApiDeps = oncePerColdStart(async () =>
  viewerStartDepsFrom(viewerMigrationsApiConfig(deployed())),
);
