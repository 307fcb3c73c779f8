/** Lambda entry of `GET /certificates/{id}` (id: the certificate id, or the URL-encoded full ARN). */
import middy from "@middy/core";
import { type CertificatesDeps, getCertificate } from "../../api/certificates.ts";
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
import { CertificatePath } from "../../api/schemas.ts";
import { certificatesApiDeps } from "../../api/wiring.ts";

export function getCertificateHandler(deps: () => Promise<CertificatesDeps>, options: HttpOptions = {}) {
  return middy<ApiEvent, ApiResult>()
    .use(requestLog(options))
    .use(errorResponse())
    .use(jsonResponse())
    .use(iamPrincipal())
    .use(validate({ params: CertificatePath }))
    .handler(async (_event, context) =>
      json(200, await getCertificate(await deps(), context.input.params.id)),
    );
}

export const handler = getCertificateHandler(certificatesApiDeps);
