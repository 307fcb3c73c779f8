/**
 * Wiring of operators' decisions (POST /rotations/{id}/rollback, /approve): the open control point in the
 * rotation table, the decision delivered as the durable execution's callback through the Lambda API.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { lambdaCallbackSender } from "../adapters/durable-callbacks.ts";
import type { RotationRoutesDeps } from "../api/rotations.ts";
import type { CallbackSender } from "../dispatch/control-rotation.ts";
import { rotationReadDepsFrom, type TableApiConfig, tableApiConfig } from "./api-reads.ts";
import { clientConfig } from "./clients.ts";
import { deployed, oncePerColdStart } from "./cold-start.ts";

export function controlDepsFrom(
  config: TableApiConfig,
  clients: { dynamo?: DynamoDBClient; lambda?: LambdaClient; callbacks?: CallbackSender } = {},
): Pick<RotationRoutesDeps, "store" | "callbacks"> {
  return {
    ...rotationReadDepsFrom(config, clients),
    callbacks:
      clients.callbacks ?? lambdaCallbackSender(clients.lambda ?? new LambdaClient(clientConfig(config))),
  };
}

export const controlApiDeps = oncePerColdStart(async () => controlDepsFrom(tableApiConfig(deployed())));
