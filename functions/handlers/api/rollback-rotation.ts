/** Lambda entry of `POST /rotations/{id}/rollback`: roll back at the rotation's bake window or approval. */
import middy from "@middy/core";
import {
  type ApiEvent,
  type ApiResult,
  bodyLimit,
  errorResponse,
  type HttpOptions,
  iamPrincipal,
  json,
  jsonBody,
  jsonResponse,
  requestLog,
  validate,
} from "../../api/http.ts";
import { decideRotation, type RotationsDeps } from "../../api/rotations.ts";
import { RollbackBody, RotationPath } from "../../api/schemas.ts";
import { controlApiDeps } from "../../api/wiring.ts";

export function rollbackRotationHandler(
  deps: () => Promise<Pick<RotationsDeps, "store" | "callbacks">>,
  options: HttpOptions = {},
) {
  return middy<ApiEvent, ApiResult>()
    .use(requestLog(options))
    .use(errorResponse())
    .use(jsonResponse())
    .use(iamPrincipal())
    .use(bodyLimit())
    .use(jsonBody())
    .use(validate({ params: RotationPath, body: RollbackBody }))
    .handler(async (_event, context) => {
      const { params, body } = context.input;
      const answer = await decideRotation(await deps(), params.id, "rollback", context.actor, body.reason);
      return json(answer.status, answer.body);
    });
}

export const handler = rollbackRotationHandler(controlApiDeps);
