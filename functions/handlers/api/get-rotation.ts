/** Lambda entry of `GET /rotations/{id}`: the rotation's state and history. */
import { apiRoute, type HttpOptions, json } from "../../api/http.ts";
import { getRotation, type RotationsDeps } from "../../api/rotations.ts";
import { RotationPath } from "../../api/schemas.ts";
import { rotationReadApiDeps } from "../../wiring/api-reads.ts";

export function getRotationHandler(
  deps: () => Promise<Pick<RotationsDeps, "store">>,
  options: HttpOptions = {},
) {
  return apiRoute(
    { params: RotationPath },
    async ({ params }) => {
      const answer = await getRotation(await deps(), params.id);
      return json(answer.status, answer.body);
    },
    options,
  );
}

export const handler = getRotationHandler(rotationReadApiDeps);
