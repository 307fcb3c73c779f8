/** The edge client for end-to-end tests; it lives in standins/edge.ts (the sandbox runs the same edge). */
import { Edge } from "../../standins/edge.ts";
import type { Fleet } from "./fleet.ts";

export * from "../../standins/edge.ts";

/** An edge sending real mTLS requests to every origin of the fleet, started; the caller stops it. */
export function startEdge(f: Pick<Fleet, "standins" | "distributionIds" | "serverCaPem">): Edge {
  const edge = new Edge({
    standins: f.standins,
    distributionIds: f.distributionIds,
    serverCaPem: f.serverCaPem,
  });
  edge.start();
  return edge;
}
