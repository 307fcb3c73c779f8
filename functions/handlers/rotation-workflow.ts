/** Lambda entry of the rotation workflow (sst.aws.Workflow in infra/rotation.ts). */
import { workflow } from "sst/aws/workflow";
import { createRotationWorkflow } from "../workflow/rotation-workflow.ts";
import { buildRotationDeps } from "../wiring/workflow.ts";

export const handler = createRotationWorkflow(workflow, () => buildRotationDeps());
