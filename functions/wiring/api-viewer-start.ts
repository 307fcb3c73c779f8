/**
 * Wiring of POST /viewer-migrations: the rotation table (the domain's lock, earlier attempts' status), read
 * with SigV4-signed fetches as the read routes do (api-viewer-migrations.ts), the stage's viewer trust domains
 * (ViewerSettings) and the workflow's name and qualifier (ViewerMigrationWorkflowStarter: a durable start is a
 * qualified invoke, sst/aws/client's signed fetch). Apart from the read routes' wiring so that they do not
 * carry the settings' schemas.
 */
import type { workflow } from "sst/aws/workflow";
import { ViewerMigrationReads } from "../adapters/viewer-migration-reads.ts";
import type { ViewerMigrationRoutesDeps } from "../api/viewer-migrations.ts";
import type { WiringSources } from "../config/links.ts";
import { readNamedLinks } from "../config/settings-links.ts";
import type { ViewerTrustDomain } from "../config/viewer-settings.ts";
import { sstWorkflowStarter, type WorkflowSdk, type WorkflowStarter } from "../dispatch/start-rotation.ts";
import type { ViewerMigrationInput } from "../workflow/viewer-migration.ts";
import { type TableApiConfig, type TableReadClients, tableReadsOf } from "./api-reads.ts";
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

/** Starting (POST /viewer-migrations). */
export function viewerStartDepsFrom(
  config: ViewerMigrationsApiConfig,
  clients: TableReadClients & {
    starter?: WorkflowStarter<ViewerMigrationInput>;
    workflowSdk?: WorkflowSdk;
  } = {},
): Pick<ViewerMigrationRoutesDeps, "domains" | "reads" | "starter" | "now"> {
  // Whether a migration runs: the domain's lock, its recorded status, and Lambda's word on its execution
  // (ListDurableExecutionsByFunction): a holder Lambda reports ended has its lock released (a conditional
  // DeleteItem), so a dead migration does not block its domain until the lock's lease ends.
  const table = tableReadsOf(config, clients);
  return {
    reads: new ViewerMigrationReads(table, { writes: table }),
    domains: config.domains,
    starter:
      clients.starter ?? sstWorkflowStarter<ViewerMigrationInput>(config.workflow, clients.workflowSdk),
    now: () => new Date(),
  };
}

/** The deployed function's dependencies, built on the first call of each cold start. */
export const viewerStartApiDeps = oncePerColdStart(async () =>
  viewerStartDepsFrom(viewerMigrationsApiConfig(deployed())),
);
