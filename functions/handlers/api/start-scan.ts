/** Lambda entry of `POST /scan`: run the fleet scan now (asynchronously), the caller as its actor. */
import { apiRoute, type HttpOptions } from "../../api/http.ts";
import { requestScan, type ScanApiDeps } from "../../api/scan-request.ts";
import { ROUTES } from "../../api/schemas.ts";
import { scanApiDeps } from "../../wiring/api-scan.ts";

export function startScanHandler(deps: () => Promise<ScanApiDeps>, options: HttpOptions = {}) {
  return apiRoute(ROUTES.startScan, async (_input, actor) => requestScan(await deps(), actor), options);
}

export const handler = startScanHandler(scanApiDeps);
