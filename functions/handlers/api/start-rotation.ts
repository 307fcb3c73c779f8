/** Lambda entry of `POST /rotations`: start a rotation (202), or plan one without changing anything (200). */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { type RotationRequestDeps, requestRotation } from "../../api/rotations.ts";
import { ROUTES } from "../../api/schemas.ts";
import { rotationsApiDeps } from "../../wiring/api-rotations.ts";

export function startRotationHandler(deps: () => Promise<RotationRequestDeps>, options: HttpOptions = {}) {
  return apiRoute(
    ROUTES.startRotation,
    async ({ body }, actor) => requestRotation(await deps(), body, actor),
    options,
  );
}

export const handler = startRotationHandler(rotationsApiDeps);
