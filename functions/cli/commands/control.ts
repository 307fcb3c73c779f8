/** `mtls-rotator rollback|approve <rotation-id>`: an operator's decision at a rotation's control point. */
import type { ControlAnswer } from "../api-types.ts";
import { type CommandSpec, flag, positionalsOf, reasonOption } from "../command.ts";

export interface ControlInput {
  rotationId: string;
  reason?: string;
  json: boolean;
}

function controlCommand(action: ControlAnswer["action"]): CommandSpec<ControlInput> {
  const rollback = action === "rollback";
  return {
    name: action,
    summary: rollback
      ? "roll a running rotation back (while a wave bakes or waits for approval)"
      : "approve the next wave of a rotation waiting for approval",
    usage: rollback
      ? `Usage: mtls-rotator rollback <rotation-id> [--reason <text>] [--json]

Asks a running rotation to roll back: every distribution swapped so far is put back on the old certificate.
While a wave bakes (the manual rollback window) or waits for approval, the decision is delivered there. At
any other moment before the promotion (issuing, the preflight, swapping, waiting for CloudFront to deploy,
the gate waiting for datapoints) it is recorded and taken at the rotation's next safe point: before its next
swap, at its next deploy or gate poll, or just before the promotion. Once the rotation is finalizing (the
new credential promoted) the API refuses (exit 5).

Options:
  --reason <text>      why (recorded in the rotation's history and notifications)
  --json               print the API's answer instead`
      : `Usage: mtls-rotator approve <rotation-id> [--reason <text>] [--json]

Approves the next wave of a rotation started with --approval between-waves, once the previous wave passed
its health gate. When the rotation is not waiting for approval, the API refuses (exit 5).

Options:
  --reason <text>      note recorded with the approval
  --json               print the API's answer instead`,
    options: { reason: { type: "string" }, json: { type: "boolean" } },
    parse: (values, positionals) => {
      const [rotationId] = positionalsOf(positionals, ["rotation-id"]);
      return { rotationId: rotationId!, reason: reasonOption(values), json: flag(values, "json") };
    },
    async run(input, deps) {
      const answer = await deps.api.control(input.rotationId, action, input.reason);
      if (input.json) {
        deps.out(`${JSON.stringify(answer, null, 2)}\n`);
        return 0;
      }
      const where =
        answer.kind === "bake"
          ? `the bake window of wave ${answer.wave}`
          : `the approval after wave ${answer.wave}`;
      const what =
        rollback && answer.kind === "requested"
          ? `Rollback requested for rotation ${answer.rotationId}: it is taken at the rotation's next safe point ` +
            "(before its next swap, at its next deploy or gate poll) and puts every swapped distribution back."
          : rollback
            ? `Rollback delivered to rotation ${answer.rotationId} at ${where}: it puts every swapped distribution back.`
            : `Approved: rotation ${answer.rotationId} continues after wave ${answer.wave}.`;
      deps.out(`${what}\nFollow it: mtls-rotator watch ${answer.rotationId}\n`);
      return 0;
    },
  };
}

export const rollbackCommand = controlCommand("rollback");
export const approveCommand = controlCommand("approve");
