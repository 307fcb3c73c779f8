/** Lambda entry of `GET /rotations`: newest first, `limit` per page, `nextToken` for the next. */
import { apiRoute, type HttpOptions, json } from "../../api/http.ts";
import { listRotations, type RotationsDeps } from "../../api/rotations.ts";
import { ListRotationsQuery } from "../../api/schemas.ts";
import { rotationReadApiDeps } from "../../wiring/api-reads.ts";

export function listRotationsHandler(
  deps: () => Promise<Pick<RotationsDeps, "store">>,
  options: HttpOptions = {},
) {
  return apiRoute(
    { query: ListRotationsQuery },
    async ({ query }) => {
      const answer = await listRotations(await deps(), query);
      return json(answer.status, answer.body);
    },
    options,
  );
}

export const handler = listRotationsHandler(rotationReadApiDeps);
