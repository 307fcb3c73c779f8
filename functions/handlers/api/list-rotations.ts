/** Lambda entry of `GET /rotations`: newest first, `limit` per page, `nextToken` for the next. */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { listRotations, type RotationRoutesDeps } from "../../api/rotations.ts";
import { ROUTES } from "../../api/schemas.ts";
import { rotationReadApiDeps } from "../../wiring/api-reads.ts";

export function listRotationsHandler(
  deps: () => Promise<Pick<RotationRoutesDeps, "store">>,
  options: HttpOptions = {},
) {
  return apiRoute(ROUTES.listRotations, async ({ query }) => listRotations(await deps(), query), options);
}

export const handler = listRotationsHandler(rotationReadApiDeps);
