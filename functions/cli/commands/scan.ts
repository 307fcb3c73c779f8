/** `mtls-rotator scan`: run the fleet scan now instead of waiting for its schedule. */
import { type CommandSpec, flag } from "../command.ts";

export interface ScanInput {
  json: boolean;
}

export const scanCommand: CommandSpec<ScanInput> = {
  name: "scan",
  summary: "scan the fleet now (expiry decisions, alerts, drift, due rotations), asynchronously",
  usage: `Usage: mtls-rotator scan [--json]

Runs the scheduled scan now: every managed certificate is decided again, due ones are rotated (duplicate
triggers converge on the running rotation), alerts and drift are reported as usual. The scan runs in the
background; follow its effects with \`mtls-rotator status\` and \`mtls-rotator certificates\`.

Options:
  --json               print the API's answer instead`,
  options: { json: { type: "boolean" } },
  parse: (values) => ({ json: flag(values, "json") }),
  async run(input, deps) {
    const answer = await deps.api.scan();
    if (input.json) {
      deps.out(`${JSON.stringify(answer, null, 2)}\n`);
      return 0;
    }
    deps.out("Scan started. Results: mtls-rotator status (in a minute or two)\n");
    return 0;
  },
};
