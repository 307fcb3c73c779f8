/** Lambda entry of `POST /scan`: run the fleet scan now (asynchronously), the caller as its actor. */
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
import { requestScan, type ScanApiDeps } from "../../api/scan.ts";
import { ScanBody } from "../../api/schemas.ts";
import { scanApiDeps } from "../../api/wiring.ts";

export function startScanHandler(deps: () => Promise<ScanApiDeps>, options: HttpOptions = {}) {
  return middy<ApiEvent, ApiResult>()
    .use(requestLog(options))
    .use(errorResponse())
    .use(jsonResponse())
    .use(iamPrincipal())
    .use(bodyLimit())
    .use(jsonBody())
    .use(validate({ body: ScanBody }))
    .handler(async (_event, context) => {
      const answer = await requestScan(await deps(), context.actor);
      return json(answer.status, answer.body);
    });
}

export const handler = startScanHandler(scanApiDeps);
