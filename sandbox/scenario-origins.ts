/**
 * Cross-checks of the scenario fields that let origins change during a run and be reachable only through
 * acknowledgements (docs/sandbox.md): origin changes (`{ "action": "origin", ... }`), `reachable`, `proof`,
 * `ackId`, and the `acknowledged` expectation. Called by scenario.ts's crossCheck, which reports each problem
 * with its path (exit code 2); nothing here starts anything.
 */
import type { Scenario } from "./scenario.ts";

type Path = ReadonlyArray<PropertyKey>;
type OriginSpec = Scenario["distributions"][number]["origins"][number];

/** The id an origin's origin-sync acknowledges with: its `ackId`, else "<distribution>-<origin>". */
export function ackIdOf(distribution: string, origin: Pick<OriginSpec, "ackId">, name: string): string {
  return origin.ackId ?? `${distribution}-${name}`;
}

/** Whether the preflight counts an acknowledgement for the origin ("acknowledgement" or "both"). */
export function acknowledges(origin: Pick<OriginSpec, "proof">): boolean {
  return origin.proof === "acknowledgement" || origin.proof === "both";
}

/** The origins ("<distribution>/<origin>") an origin action changes during the run. */
export function changedOrigins(scenario: Pick<Scenario, "actions">): Set<string> {
  return new Set(scenario.actions.flatMap((a) => (a.action === "origin" ? [a.origin] : [])));
}

export function originFeatureProblems(scenario: Scenario, at: (path: Path, message: string) => void): void {
  const origins = new Map<string, OriginSpec>();
  const ackIds = new Map<string, string>();
  scenario.distributions.forEach((d, i) => {
    d.origins.forEach((o, j) => {
      const path = ["distributions", i, "origins", j];
      origins.set(`${d.name}/${o.name}`, o);
      if (!acknowledges(o)) {
        if (o.ackId !== undefined)
          at([...path, "ackId"], `only applies with proof "acknowledgement" or "both"`);
        return;
      }
      const proof = JSON.stringify(o.proof);
      if (o.certificate === undefined)
        at(
          [...path, "proof"],
          `${proof} only applies to an origin that presents a certificate (the preflight judges no other)`,
        );
      if (o.trustsNewIssuer === "never")
        at(
          [...path, "proof"],
          `${proof} needs an origin whose origin-sync installs the published bundle and reloads the server ` +
            `(trustsNewIssuer "now" or "late"): with "never" it runs no origin-sync and can acknowledge nothing`,
        );
      if (o.down)
        at(
          [...path, "proof"],
          `${proof} needs an origin whose origin-sync installs the published bundle and reloads the server: a down origin runs none`,
        );
      const id = ackIdOf(d.name, o, o.name);
      const holder = ackIds.get(id);
      if (holder)
        at(
          [...path, o.ackId === undefined ? "name" : "ackId"],
          `acknowledgement id "${id}" is also ${holder}'s: each origin host acknowledges as itself`,
        );
      else ackIds.set(id, `${d.name}/${o.name}`);
    });
  });
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

  scenario.expect?.acknowledged?.forEach((path, i) => {
    const origin = origins.get(path);
    if (!origin) at(["expect", "acknowledged", i], `no origin "${path}" (origins: ${known})`);
    else if (!acknowledges(origin))
      at(
        ["expect", "acknowledged", i],
        `"${path}" has no acknowledgement proof (give it proof "acknowledgement" or "both")`,
      );
  });
}
