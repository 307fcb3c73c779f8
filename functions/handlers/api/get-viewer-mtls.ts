/** Lambda entry of `GET /viewer-mtls` (API Gateway HTTP API, IAM authorization, payload format 2.0). */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { ROUTES } from "../../api/schemas.ts";
import { type ViewerMtlsDeps, viewerMtlsInventory } from "../../api/viewer-mtls.ts";
import { viewerMtlsApiDeps } from "../../wiring/api-reads.ts";

export function getViewerMtlsHandler(deps: () => Promise<ViewerMtlsDeps>, options: HttpOptions = {}) {
  return apiRoute(
    ROUTES.getViewerMtls,
    async () => ({ status: 200 as const, body: await viewerMtlsInventory(await deps()) }),
    options,
  );
}

export const handler = getViewerMtlsHandler(viewerMtlsApiDeps);
