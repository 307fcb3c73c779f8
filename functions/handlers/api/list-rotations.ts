/** Lambda entry of `GET /rotations`: newest first, `limit` per page, `nextToken` for the next. */
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
import { listRotations, type RotationsDeps } from "../../api/rotations.ts";
import { ListRotationsQuery } from "../../api/schemas.ts";
import { rotationReadApiDeps } from "../../api/wiring.ts";

export function listRotationsHandler(
  deps: () => Promise<Pick<RotationsDeps, "store">>,
  options: HttpOptions = {},
) {
  return middy<ApiEvent, ApiResult>()
    .use(requestLog(options))
    .use(errorResponse())
    .use(jsonResponse())
    .use(iamPrincipal())
    .use(validate({ query: ListRotationsQuery }))
    .handler(async (_event, context) => {
      const answer = await listRotations(await deps(), context.input.query);
      return json(answer.status, answer.body);
    });
}

export const handler = listRotationsHandler(rotationReadApiDeps);
