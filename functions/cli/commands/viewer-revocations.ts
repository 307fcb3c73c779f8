/**
 * `mtls-rotator revoke-viewer|reinstate-viewer|viewer-revocation <serial>`: the edge's revocation list of
 * viewer certificates (docs/viewer-revocation.md), over POST, DELETE and GET /viewer-revocations. A serial is
 * checked and put in its normal form here, with the rule the API applies (functions/core/viewer-serial.ts), so
 * a mistyped one is a usage error before anything is sent.
 */
import { RevocationReason } from "../../api/schemas.ts";
import { InvalidViewerSerialError, normalViewerSerial } from "../../core/viewer-serial.ts";
import {
  type CommandDeps,
  type CommandSpec,
  flag,
  type OptionValues,
  positionalsOf,
  reasonOption,
} from "../command.ts";
import { UsageError } from "../errors.ts";
import { revocationLine } from "../render.ts";

export interface ViewerSerialInput {
  serial: string;
  json: boolean;
}

export interface ViewerRevocationChangeInput extends ViewerSerialInput {
  reason: string;
}

const SERIAL_HELP = `<serial> is the certificate's serial number as openssl or Node print it: 4A:3F:5C, 4a3f5c and
00:4A:3F:5C (with the DER sign octet) are one serial (openssl x509 -noout -serial -in viewer.pem).`;

const PROPAGATION = "once the change has propagated to CloudFront's edge locations";

/** A change the API made but could not announce: it stands, and the operator hears so. */
function warnUnannounced(deps: CommandDeps, answer: { notified: boolean }, change: string): void {
  if (!answer.notified)
    deps.err(
      `Warning: the ${change} stands, but its notification was not published (the API's log says why).\n`,
    );
}

/** The one <serial> positional, in its normal form. */
function serialOf(positionals: string[]): string {
  const [text] = positionalsOf(positionals, ["serial"]);
  try {
    return normalViewerSerial(text!);
  } catch (error) {
    if (error instanceof InvalidViewerSerialError) throw new UsageError(`<serial>: ${error.message}`);
    throw error;
  }
}

/** `--reason`, required, within what the API records (at most 256 characters, no control characters). */
function requiredReason(values: OptionValues, why: string): string {
  const reason = reasonOption(values, "reason", RevocationReason);
  if (reason === undefined) throw new UsageError(`--reason is required: ${why}`);
  return reason;
}

export const revokeViewerCommand: CommandSpec<ViewerRevocationChangeInput> = {
  name: "revoke-viewer",
  summary: "revoke a viewer certificate at the edge (the revocation list the connection function reads)",
  usage: `Usage: mtls-rotator revoke-viewer <serial> --reason <text> [--json]

Puts the serial on the stage's viewer revocation list (a CloudFront KeyValueStore): the connection function
then refuses viewers presenting that certificate, ${PROPAGATION}; connections already
established are not cut. The list records the reason, the time and you (the IAM principal), and a
notification (viewer-certificate-revoked) tells whoever watches the topic. A serial already revoked keeps its
earlier record. A stage without a revocation store refuses (exit 5).

${SERIAL_HELP}

Options:
  --reason <text>      why (required; at most 256 characters, recorded in the list and the notification)
  --json               print the API's answer instead`,
  options: { reason: { type: "string" }, json: { type: "boolean" } },
  parse: (values, positionals) => ({
    serial: serialOf(positionals),
    reason: requiredReason(values, "why the certificate is revoked (recorded with the revocation)"),
    json: flag(values, "json"),
  }),
  async run(input, deps) {
    const answer = await deps.api.revokeViewer({ serial: input.serial, reason: input.reason });
    if (input.json) {
      deps.out(`${JSON.stringify(answer, null, 2)}\n`);
      return 0;
    }
    if (answer.alreadyRevoked) {
      deps.out(
        `Serial ${answer.serial} was already on the revocation list (${revocationLine(answer.revocation)}); nothing changed.\n`,
      );
      return 0;
    }
    deps.out(
      `Revoked serial ${answer.serial}: viewers presenting it are refused ${PROPAGATION}.\n` +
        `Recorded: ${revocationLine(answer.revocation)}\n`,
    );
    warnUnannounced(deps, answer, "revocation");
    return 0;
  },
};

export const reinstateViewerCommand: CommandSpec<ViewerRevocationChangeInput> = {
  name: "reinstate-viewer",
  summary: "take a viewer certificate off the revocation list (a revocation made by mistake)",
  usage: `Usage: mtls-rotator reinstate-viewer <serial> --reason <text> [--json]

Takes the serial off the stage's viewer revocation list: viewers presenting that certificate connect again
${PROPAGATION}. A notification (viewer-certificate-reinstated) names you, your reason and the
revocation taken back. A serial not on the list changes nothing. A stage without a revocation store refuses
(exit 5).

${SERIAL_HELP}

Options:
  --reason <text>      why it may connect again (required; at most 256 characters, in the notification)
  --json               print the API's answer instead`,
  options: { reason: { type: "string" }, json: { type: "boolean" } },
  parse: (values, positionals) => ({
    serial: serialOf(positionals),
    reason: requiredReason(values, "why the certificate may connect again (in the notification)"),
    json: flag(values, "json"),
  }),
  async run(input, deps) {
    const answer = await deps.api.reinstateViewer(input.serial, input.reason);
    if (input.json) {
      deps.out(`${JSON.stringify(answer, null, 2)}\n`);
      return 0;
    }
    if (!answer.reinstated || !answer.revocation) {
      deps.out(`Serial ${answer.serial} is not on the revocation list; nothing changed.\n`);
      return 0;
    }
    deps.out(
      `Reinstated serial ${answer.serial}: viewers presenting it connect again ${PROPAGATION}.\n` +
        `It had been ${revocationLine(answer.revocation)}\n`,
    );
    warnUnannounced(deps, answer, "reinstatement");
    return 0;
  },
};

export const viewerRevocationCommand: CommandSpec<ViewerSerialInput> = {
  name: "viewer-revocation",
  summary: "whether a viewer certificate is revoked at the edge, and by whom, when and why",
  usage: `Usage: mtls-rotator viewer-revocation <serial> [--json]

Reads the serial's entry in the stage's viewer revocation list. A stage without a revocation store refuses
(exit 5).

${SERIAL_HELP}

Options:
  --json               print the API's answer instead`,
  options: { json: { type: "boolean" } },
  parse: (values, positionals) => ({ serial: serialOf(positionals), json: flag(values, "json") }),
  async run(input, deps) {
    const answer = await deps.api.getViewerRevocation(input.serial);
    if (input.json) {
      deps.out(`${JSON.stringify(answer, null, 2)}\n`);
      return 0;
    }
    deps.out(
      answer.revocation
        ? `Serial ${answer.serial} is ${revocationLine(answer.revocation)}\n`
        : `Serial ${answer.serial} is not revoked.\n`,
    );
    return 0;
  },
};
