/** Lambda entry of `POST /rotations`: start a rotation (202), or plan one without changing anything (200). */
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
import { type RotationsDeps, requestRotation } from "../../api/rotations.ts";
import { StartRotationBody } from "../../api/schemas.ts";
import { rotationsApiDeps } from "../../api/wiring.ts";

export function startRotationHandler(deps: () => Promise<RotationsDeps>, options: HttpOptions = {}) {
  return middy<ApiEvent, ApiResult>()
    .use(requestLog(options))
    .use(errorResponse())
    .use(jsonResponse())
    .use(iamPrincipal())
    .use(bodyLimit())
    .use(jsonBody({ required: true }))
    .use(validate({ body: StartRotationBody }))
    .handler(async (_event, context) => {
      const answer = await requestRotation(await deps(), context.input.body, context.actor);
      return json(answer.status, answer.body);
    });
}

export const handler = startRotationHandler(rotationsApiDeps);
