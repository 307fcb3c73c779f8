/** Lambda entry of `GET /certificates` (API Gateway HTTP API, IAM authorization, payload format 2.0). */
import middy from "@middy/core";
import { type CertificatesDeps, listCertificates } from "../../api/certificates.ts";
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
import { ListCertificatesQuery } from "../../api/schemas.ts";
import { certificatesApiDeps } from "../../api/wiring.ts";

export function listCertificatesHandler(deps: () => Promise<CertificatesDeps>, options: HttpOptions = {}) {
  return middy<ApiEvent, ApiResult>()
    .use(requestLog(options))
    .use(errorResponse())
    .use(jsonResponse())
    .use(iamPrincipal())
    .use(validate({ query: ListCertificatesQuery }))
    .handler(async (_event, context) => json(200, await listCertificates(await deps(), context.input.query)));
}

export const handler = listCertificatesHandler(certificatesApiDeps);
