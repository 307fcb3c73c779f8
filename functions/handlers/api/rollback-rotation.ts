/** Lambda entry of `POST /rotations/{id}/rollback`: roll back at the rotation's bake window or approval. */
import { apiRoute, type HttpOptions, json } from "../../api/http.ts";
import { decideRotation, type RotationsDeps } from "../../api/rotations.ts";
import { RollbackBody, RotationPath } from "../../api/schemas.ts";
import { controlApiDeps } from "../../wiring/api-control.ts";

export function rollbackRotationHandler(
  deps: () => Promise<Pick<RotationsDeps, "store" | "callbacks">>,
  options: HttpOptions = {},
) {
  return apiRoute(
    { params: RotationPath, body: RollbackBody },
    async ({ params, body }, actor) => {
      const answer = await decideRotation(await deps(), params.id, "rollback", actor, body.reason);
      return json(answer.status, answer.body);
    },
    options,
  );
}

export const handler = rollbackRotationHandler(controlApiDeps);
