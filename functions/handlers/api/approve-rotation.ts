/** Lambda entry of `POST /rotations/{id}/approve`: let a rotation waiting for approval go on to its next wave. */
import { apiRoute, type HttpOptions, json } from "../../api/http.ts";
import { decideRotation, type RotationsDeps } from "../../api/rotations.ts";
import { ApproveBody, RotationPath } from "../../api/schemas.ts";
import { controlApiDeps } from "../../wiring/api-control.ts";

export function approveRotationHandler(
  deps: () => Promise<Pick<RotationsDeps, "store" | "callbacks">>,
  options: HttpOptions = {},
) {
  return apiRoute(
    { params: RotationPath, body: ApproveBody },
    async ({ params, body }, actor) => {
      const answer = await decideRotation(await deps(), params.id, "approve", actor, body.reason);
      return json(answer.status, answer.body);
    },
    options,
  );
}

export const handler = approveRotationHandler(controlApiDeps);
