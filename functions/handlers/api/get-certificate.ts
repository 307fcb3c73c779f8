/** Lambda entry of `GET /certificates/{id}` (id: the certificate id, or the URL-encoded full ARN). */
import { type CertificatesDeps, getCertificate } from "../../api/certificates.ts";
import { apiRoute, type HttpOptions, json } from "../../api/http.ts";
import { CertificatePath } from "../../api/schemas.ts";
import { certificatesApiDeps } from "../../wiring/api-reads.ts";

export function getCertificateHandler(deps: () => Promise<CertificatesDeps>, options: HttpOptions = {}) {
  return apiRoute(
    { params: CertificatePath },
    async ({ params }) => json(200, await getCertificate(await deps(), params.id)),
    options,
  );
}

export const handler = getCertificateHandler(certificatesApiDeps);
