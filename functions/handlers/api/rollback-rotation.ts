/** Lambda entry of `POST /rotations/{id}/rollback`: roll back at the rotation's bake window or approval. */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { decideRotation, type RotationRoutesDeps } from "../../api/rotations.ts";
import { ROUTES } from "../../api/schemas.ts";
import { controlApiDeps } from "../../wiring/api-control.ts";

export function rollbackRotationHandler(
  deps: () => Promise<Pick<RotationRoutesDeps, "store" | "callbacks">>,
  options: HttpOptions = {},
) {
  return apiRoute(
    ROUTES.rollbackRotation,
    async ({ params, body }, actor) =>
      decideRotation(await deps(), params.id, "rollback", actor, body.reason),
    options,
  );
}

export const handler = rollbackRotationHandler(controlApiDeps);
