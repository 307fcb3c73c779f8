/**
 * CloudFront reads per distribution, as the stand-in served them (an interceptor on the stand-in server, so
 * every call the real SDK made is counted, retries included): to pin that a phase reads only what it needs.
 */
import type { Fleet } from "./fleet.ts";

/** CloudFront reads per distribution id (GetDistribution, GetDistributionConfig), as the stand-in served them. */
export function countReads(f: Pick<Fleet, "standins">) {
  const reads = { status: new Map<string, number>(), config: new Map<string, number>() };
  f.standins.server.intercept(({ service, operation, request }) => {
    if (service !== "cloudfront") return;
    const id = /\/distribution\/([^/]+)/.exec(request.path)?.[1];
    if (!id) return;
    const into =
      operation === "GetDistribution"
        ? reads.status
        : operation === "GetDistributionConfig"
          ? reads.config
          : undefined;
    into?.set(id, (into.get(id) ?? 0) + 1);
  });
  return {
    reads,
    clear: () => {
      reads.status.clear();
      reads.config.clear();
    },
  };
}

export const sum = (counts: Map<string, number>, ids?: readonly string[]) =>
  (ids ?? [...counts.keys()]).reduce((n, id) => n + (counts.get(id) ?? 0), 0);
