/** Lambda entry of `POST /viewer-migrations/{id}/rollback`: put every trust point back, announce nothing. */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { ROUTES } from "../../api/schemas.ts";
import { decideViewerMigration, type ViewerMigrationRoutesDeps } from "../../api/viewer-migrations.ts";
import { viewerControlApiDeps } from "../../wiring/api-viewer-migrations.ts";

export function rollbackViewerMigrationHandler(
  deps: () => Promise<Pick<ViewerMigrationRoutesDeps, "reads" | "callbacks">>,
  options: HttpOptions = {},
) {
  return apiRoute(
    ROUTES.rollbackViewerMigration,
    async ({ params, body }, actor) =>
      decideViewerMigration(await deps(), params.id, "rollback", actor, body.reason),
    options,
  );
}

export const handler = rollbackViewerMigrationHandler(viewerControlApiDeps);
