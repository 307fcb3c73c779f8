/** Lambda entry of `POST /viewer-migrations`: start a viewer CA migration (or its dry run) of a trust domain. */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { ROUTES } from "../../api/schemas.ts";
import { requestViewerMigration, type ViewerMigrationRoutesDeps } from "../../api/viewer-migrations.ts";
import { viewerStartApiDeps } from "../../wiring/api-viewer-start.ts";

export function startViewerMigrationHandler(
  deps: () => Promise<Pick<ViewerMigrationRoutesDeps, "domains" | "reads" | "starter" | "now">>,
  options: HttpOptions = {},
) {
  return apiRoute(
    ROUTES.startViewerMigration,
    async ({ body }, actor) => requestViewerMigration(await deps(), body, actor),
    options,
  );
}

export const handler = startViewerMigrationHandler(viewerStartApiDeps);
