/** Lambda entry of `GET /viewer-migrations/{id}`: the migration's request, state and history. */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { ROUTES } from "../../api/schemas.ts";
import { getViewerMigration, type ViewerMigrationRoutesDeps } from "../../api/viewer-migrations.ts";
import { viewerMigrationReadApiDeps } from "../../wiring/api-viewer-migrations.ts";

export function getViewerMigrationHandler(
  deps: () => Promise<Pick<ViewerMigrationRoutesDeps, "reads">>,
  options: HttpOptions = {},
) {
  return apiRoute(
    ROUTES.getViewerMigration,
    async ({ params, query }) => getViewerMigration(await deps(), params.id, query),
    options,
  );
}

export const handler = getViewerMigrationHandler(viewerMigrationReadApiDeps);
