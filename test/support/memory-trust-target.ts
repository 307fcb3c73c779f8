/** A trust target in memory: records every bundle published to it, and reads back the last. */
import type { TrustBundle } from "../../functions/core/trust-bundle.ts";
import type { TrustTarget } from "../../functions/trust/publish-bundle.ts";

export function memoryTrustTarget(): TrustTarget & { published: string[] } {
  const published: string[] = [];
  return {
    name: "memory",
    published,
    read: async () => published.at(-1),
    write: async (bundle: TrustBundle) => {
      if (published.at(-1) === bundle.pem) return { changed: false };
      published.push(bundle.pem);
      return { changed: true };
    },
  };
}
