/** Fleets a test file builds, closed after each test (origins, stand-ins, dynalite). */
import { afterEach } from "vitest";
import { buildFleet, type Fleet, type FleetOptions } from "./fleet.ts";

/** The returned function builds a fleet that is closed after the test that built it. */
export function useFleets(): (options: FleetOptions) => Promise<Fleet> {
  const open: Fleet[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((f) => f.close()));
  });
  return async (options) => {
    const built = await buildFleet(options);
    open.push(built);
    return built;
  };
}
