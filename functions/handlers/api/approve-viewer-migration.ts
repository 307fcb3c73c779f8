/** Lambda entry of `POST /viewer-migrations/{id}/approve`: let a migration waiting for approval announce. */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { ROUTES } from "../../api/schemas.ts";
import { decideViewerMigration, type ViewerMigrationRoutesDeps } from "../../api/viewer-migrations.ts";
import { viewerControlApiDeps } from "../../wiring/api-viewer-migrations.ts";

export function approveViewerMigrationHandler(
  deps: () => Promise<Pick<ViewerMigrationRoutesDeps, "reads" | "callbacks">>,
  options: HttpOptions = {},
) {
  return apiRoute(
    ROUTES.approveViewerMigration,
    async ({ params, body }, actor) =>
      decideViewerMigration(await deps(), params.id, "approve", actor, body.reason),
    options,
  );
}

export const handler = approveViewerMigrationHandler(viewerControlApiDeps);
