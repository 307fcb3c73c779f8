/** Lambda entry of `GET /rotations/{id}`: the rotation's state and history. */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { getRotation, type RotationRoutesDeps } from "../../api/rotations.ts";
import { ROUTES } from "../../api/schemas.ts";
import { rotationReadApiDeps } from "../../wiring/api-reads.ts";

export function getRotationHandler(
  deps: () => Promise<Pick<RotationRoutesDeps, "store">>,
  options: HttpOptions = {},
) {
  return apiRoute(ROUTES.getRotation, async ({ params }) => getRotation(await deps(), params.id), options);
}

export const handler = getRotationHandler(rotationReadApiDeps);
