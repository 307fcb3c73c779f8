/** Lambda entry of `GET /viewer-migrations`: newest first, `limit` per page, `nextToken` for the next. */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { ROUTES } from "../../api/schemas.ts";
import { listViewerMigrations, type ViewerMigrationRoutesDeps } from "../../api/viewer-migrations.ts";
import { viewerMigrationReadApiDeps } from "../../wiring/api-viewer-migrations.ts";

export function listViewerMigrationsHandler(
  deps: () => Promise<Pick<ViewerMigrationRoutesDeps, "reads">>,
  options: HttpOptions = {},
) {
  return apiRoute(
    ROUTES.listViewerMigrations,
    async ({ query }) => listViewerMigrations(await deps(), query),
    options,
  );
}

export const handler = listViewerMigrationsHandler(viewerMigrationReadApiDeps);
