/** Lambda entry of `GET /certificates` (API Gateway HTTP API, IAM authorization, payload format 2.0). */
import { type CertificatesDeps, listCertificates } from "../../api/certificates.ts";
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { ROUTES } from "../../api/schemas.ts";
import { certificatesApiDeps } from "../../wiring/api-reads.ts";

export function listCertificatesHandler(deps: () => Promise<CertificatesDeps>, options: HttpOptions = {}) {
  return apiRoute(
    ROUTES.listCertificates,
    async ({ query }) => ({ status: 200 as const, body: await listCertificates(await deps(), query) }),
    options,
  );
}

export const handler = listCertificatesHandler(certificatesApiDeps);
