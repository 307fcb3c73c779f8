/** Lambda entry of `DELETE /viewer-revocations/{serial}`: take a serial off the revocation list (`?reason=`). */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { ROUTES } from "../../api/schemas.ts";
import { reinstateViewer, type ViewerRevocationDeps } from "../../api/viewer-revocations.ts";
import { viewerRevocationWriteApiDeps } from "../../wiring/api-viewer-revocation-writes.ts";

export function reinstateViewerHandler(deps: () => Promise<ViewerRevocationDeps>, options: HttpOptions = {}) {
  return apiRoute(
    ROUTES.reinstateViewer,
    async ({ params, query }, actor) => reinstateViewer(await deps(), params.serial, query.reason, actor),
    options,
  );
}

export const handler = reinstateViewerHandler(viewerRevocationWriteApiDeps);
