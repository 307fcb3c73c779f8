/** Lambda entry of `POST /scan`: run the fleet scan now (asynchronously), the caller as its actor. */
import { apiRoute, type HttpOptions, json } from "../../api/http.ts";
import { requestScan, type ScanApiDeps } from "../../api/scan.ts";
import { ScanBody } from "../../api/schemas.ts";
import { scanApiDeps } from "../../wiring/api-scan.ts";

export function startScanHandler(deps: () => Promise<ScanApiDeps>, options: HttpOptions = {}) {
  return apiRoute(
    { body: ScanBody },
    async (_input, actor) => {
      const answer = await requestScan(await deps(), actor);
      return json(answer.status, answer.body);
    },
    options,
  );
}

export const handler = startScanHandler(scanApiDeps);
