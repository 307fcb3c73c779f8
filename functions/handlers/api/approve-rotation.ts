/** Lambda entry of `POST /rotations/{id}/approve`: let a rotation waiting for approval go on to its next wave. */
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
import { ApproveBody, RotationPath } from "../../api/schemas.ts";
import { controlApiDeps } from "../../api/wiring.ts";

export function approveRotationHandler(
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
    .use(validate({ params: RotationPath, body: ApproveBody }))
    .handler(async (_event, context) => {
      const { params, body } = context.input;
      const answer = await decideRotation(await deps(), params.id, "approve", context.actor, body.reason);
      return json(answer.status, answer.body);
    });
}

export const handler = approveRotationHandler(controlApiDeps);
