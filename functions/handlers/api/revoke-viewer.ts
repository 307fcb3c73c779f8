/** Lambda entry of `POST /viewer-revocations`: put a viewer certificate's serial on the edge's revocation list. */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { ROUTES } from "../../api/schemas.ts";
import { revokeViewer, type ViewerRevocationDeps } from "../../api/viewer-revocations.ts";
import { viewerRevocationWriteApiDeps } from "../../wiring/api-viewer-revocation-writes.ts";

export function revokeViewerHandler(deps: () => Promise<ViewerRevocationDeps>, options: HttpOptions = {}) {
  return apiRoute(
    ROUTES.revokeViewer,
    async ({ body }, actor) => revokeViewer(await deps(), body, actor),
    options,
  );
}

export const handler = revokeViewerHandler(viewerRevocationWriteApiDeps);
