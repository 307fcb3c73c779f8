/**
 * Wiring of operators' decisions (POST /rotations/{id}/rollback, /approve): the open control point in the
 * rotation table (read as api-reads.ts reads it), the decision delivered as the durable execution's callback through the Lambda API
 * (SendDurableExecutionCallbackSuccess, signed with SST's SigV4 fetch: no Lambda SDK client in these routes).
 */
import { lambdaCallbackSender } from "../adapters/durable-callbacks.ts";
import { RollbackRequests } from "../adapters/rollback-requests.ts";
import type { RotationRoutesDeps } from "../api/rotations.ts";
import type { CallbackSender } from "../dispatch/control-rotation.ts";
import {
  rotationReadDepsFrom,
  type TableApiConfig,
  type TableReadClients,
  tableApiConfig,
  tableReadsOf,
} from "./api-reads.ts";
import { deployed, oncePerColdStart } from "./cold-start.ts";

export function controlDepsFrom(
  config: TableApiConfig,
  clients: TableReadClients & { callbacks?: CallbackSender } = {},
): Pick<RotationRoutesDeps, "store" | "callbacks" | "rollbackRequests" | "now"> {
  // One table for both: the reads, and the rollback requests recorded between control points.
  const table = tableReadsOf(config, clients);
  return {
    ...rotationReadDepsFrom(config, { table }),
    callbacks: clients.callbacks ?? lambdaCallbackSender(),
    rollbackRequests: new RollbackRequests(table),
    now: () => new Date(),
  };
}

export const controlApiDeps = oncePerColdStart(async () => controlDepsFrom(tableApiConfig(deployed())));
