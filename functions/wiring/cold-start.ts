/** What every Lambda entry's wiring shares: the deployed sources, and building its dependencies once. */
import { Resource } from "sst";
import type { WiringSources } from "../config/links.ts";

/** SST's linked resources and the Lambda environment. */
export const deployed = (): WiringSources => ({ resource: Resource, env: process.env });

/**
 * `build` once per cold start, its result shared by every invocation of the container. A failed build (the
 * CA call throttled, say) is not kept: the next invocation builds again.
 */
export function oncePerColdStart<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
