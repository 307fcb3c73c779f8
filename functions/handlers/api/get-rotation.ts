/** Lambda entry of `GET /rotations/{id}`: the rotation's state and history. */
import middy from "@middy/core";
import {
  type ApiEvent,
  type ApiResult,
  errorResponse,
  type HttpOptions,
  iamPrincipal,
  json,
  jsonResponse,
  requestLog,
  validate,
} from "../../api/http.ts";
import { getRotation, type RotationsDeps } from "../../api/rotations.ts";
import { RotationPath } from "../../api/schemas.ts";
import { rotationReadApiDeps } from "../../api/wiring.ts";

export function getRotationHandler(
  deps: () => Promise<Pick<RotationsDeps, "store">>,
  options: HttpOptions = {},
) {
  return middy<ApiEvent, ApiResult>()
    .use(requestLog(options))
    .use(errorResponse())
    .use(jsonResponse())
    .use(iamPrincipal())
    .use(validate({ params: RotationPath }))
    .handler(async (_event, context) => {
      const answer = await getRotation(await deps(), context.input.params.id);
      return json(answer.status, answer.body);
    });
}

export const handler = getRotationHandler(rotationReadApiDeps);
