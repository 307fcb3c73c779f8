/**
 * Cross-checks of the scenario fields that let origins change during a run (docs/sandbox.md): origin
 * changes (`{ "action": "origin", ... }`). Called by scenario.ts's crossCheck, which reports each problem
 * with its path (exit code 2); nothing here starts anything.
 */
import type { Scenario } from "./scenario.ts";

type Path = ReadonlyArray<PropertyKey>;
type OriginSpec = Scenario["distributions"][number]["origins"][number];

/** The origins ("<distribution>/<origin>") an origin action changes during the run. */
export function changedOrigins(scenario: Pick<Scenario, "actions">): Set<string> {
  return new Set(scenario.actions.flatMap((a) => (a.action === "origin" ? [a.origin] : [])));
}

export function originFeatureProblems(scenario: Scenario, at: (path: Path, message: string) => void): void {
  const origins = new Map<string, OriginSpec>();
  for (const d of scenario.distributions) for (const o of d.origins) origins.set(`${d.name}/${o.name}`, o);
  const known = [...origins.keys()].join(", ");

  const bake = scenario.policy?.bakeSeconds ?? 2;
  scenario.actions.forEach((a, i) => {
    if (a.action !== "origin") return;
    const path = ["actions", i];
    if (!origins.has(a.origin)) at([...path, "origin"], `no origin "${a.origin}" (origins: ${known})`);
    if (a.down === undefined && a.slowMs === undefined)
      at(path, `an origin change needs "down" and/or "slowMs"`);
    if (a.down === true && a.slowMs !== undefined)
      at([...path, "slowMs"], "a down origin takes no slowMs (nothing serves)");
    if (a.when === undefined) {
      if (a.afterWave !== undefined)
        at(
          [...path, "afterWave"],
          `only applies with "when" (the change is made when the action is reached)`,
        );
      if (a.certificate !== undefined)
        at(
          [...path, "certificate"],
          `only applies with "when" (the rotation whose moment the change waits for)`,
        );
    }
    if (a.when === "baking" && bake === 0)
      at([...path, "when"], `"baking" needs a bake window (policy.bakeSeconds > 0)`);
  });
}
