/** Lambda entry of `POST /rotations`: start a rotation (202), or plan one without changing anything (200). */
import { apiRoute, type HttpOptions, json } from "../../api/http.ts";
import { type RotationsDeps, requestRotation } from "../../api/rotations.ts";
import { StartRotationBody } from "../../api/schemas.ts";
import { rotationsApiDeps } from "../../wiring/api-rotations.ts";

export function startRotationHandler(deps: () => Promise<RotationsDeps>, options: HttpOptions = {}) {
  return apiRoute(
    { body: StartRotationBody, bodyRequired: true },
    async ({ body }, actor) => {
      const answer = await requestRotation(await deps(), body, actor);
      return json(answer.status, answer.body);
    },
    options,
  );
}

export const handler = startRotationHandler(rotationsApiDeps);
