/** Lambda entry of `GET /viewer-revocations/{serial}`: whether a viewer certificate is revoked, by whom, when, why. */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { ROUTES } from "../../api/schemas.ts";
import { getViewerRevocation, type ViewerRevocationDeps } from "../../api/viewer-revocations.ts";
import { viewerRevocationReadApiDeps } from "../../wiring/api-viewer-revocations.ts";

export function getViewerRevocationHandler(
  deps: () => Promise<Pick<ViewerRevocationDeps, "list">>,
  options: HttpOptions = {},
) {
  return apiRoute(
    ROUTES.getViewerRevocation,
    async ({ params }) => getViewerRevocation(await deps(), params.serial),
    options,
  );
}

export const handler = getViewerRevocationHandler(viewerRevocationReadApiDeps);
