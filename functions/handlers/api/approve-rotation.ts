/** Lambda entry of `POST /rotations/{id}/approve`: let a rotation waiting for approval go on to its next wave. */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { decideRotation, type RotationRoutesDeps } from "../../api/rotations.ts";
import { ROUTES } from "../../api/schemas.ts";
import { controlApiDeps } from "../../wiring/api-control.ts";

export function approveRotationHandler(
  deps: () => Promise<Pick<RotationRoutesDeps, "store" | "callbacks">>,
  options: HttpOptions = {},
) {
  return apiRoute(
    ROUTES.approveRotation,
    async ({ params, body }, actor) => decideRotation(await deps(), params.id, "approve", actor, body.reason),
    options,
  );
}

export const handler = approveRotationHandler(controlApiDeps);
