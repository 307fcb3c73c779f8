/** Lambda entry of `GET /certificates` (API Gateway HTTP API, IAM authorization, payload format 2.0). */
import { type CertificatesDeps, listCertificates } from "../../api/certificates.ts";
import { apiRoute, type HttpOptions, json } from "../../api/http.ts";
import { ListCertificatesQuery } from "../../api/schemas.ts";
import { certificatesApiDeps } from "../../wiring/api-reads.ts";

export function listCertificatesHandler(deps: () => Promise<CertificatesDeps>, options: HttpOptions = {}) {
  return apiRoute(
    { query: ListCertificatesQuery },
    async ({ query }) => json(200, await listCertificates(await deps(), query)),
    options,
  );
}

export const handler = listCertificatesHandler(certificatesApiDeps);
