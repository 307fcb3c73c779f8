/** Lambda entry of `GET /certificates/{id}` (id: the certificate id, or the URL-encoded full ARN). */
import { type CertificatesDeps, getCertificate } from "../../api/certificates.ts";
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { ROUTES } from "../../api/schemas.ts";
import { certificatesApiDeps } from "../../wiring/api-reads.ts";

export function getCertificateHandler(deps: () => Promise<CertificatesDeps>, options: HttpOptions = {}) {
  return apiRoute(
    ROUTES.getCertificate,
    async ({ params }) => ({ status: 200 as const, body: await getCertificate(await deps(), params.id) }),
    options,
  );
}

export const handler = getCertificateHandler(certificatesApiDeps);
