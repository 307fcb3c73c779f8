/** Lambda entry of the viewer CA migration workflow (sst.aws.Workflow in infra/viewer-migration.ts). */
import { workflow } from "sst/aws/workflow";
import { buildViewerMigrationDeps } from "../wiring/viewer-migration.ts";
import { createViewerMigrationWorkflow } from "../workflow/viewer-migration.ts";

export const handler = createViewerMigrationWorkflow(workflow, () => buildViewerMigrationDeps());
