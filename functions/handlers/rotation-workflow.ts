/** Lambda entry of the rotation workflow (sst.aws.Workflow in infra/rotation.ts). */
import { workflow } from "sst/aws/workflow";
import { buildRotationDeps } from "../wiring/workflow.ts";
import { createRotationWorkflow } from "../workflow/rotation-workflow.ts";

export const handler = createRotationWorkflow(workflow, () => buildRotationDeps());
