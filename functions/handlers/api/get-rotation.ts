/** Lambda entry of `GET /rotations/{id}`: the rotation's state and history. */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { getRotation } from "../../api/rotations.ts";
import { ROUTES } from "../../api/schemas.ts";
import { rotationReadApiDeps } from "../../wiring/api-reads.ts";

export function getRotationHandler(
  deps: () => Promise<Parameters<typeof getRotation>[0]>,
  options: HttpOptions = {},
) {
  return apiRoute(
    ROUTES.getRotation,
    async ({ params, query }) => getRotation(await deps(), params.id, query),
    options,
  );
}

export const handler = getRotationHandler(rotationReadApiDeps);
