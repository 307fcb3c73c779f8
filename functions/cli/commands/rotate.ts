/** `mtls-rotator rotate <certificate>`: start a rotation, or show its plan (--dry-run). */
import { MAX_BAKE_SECONDS, MAX_WAVE_SIZES } from "../../api/schemas.ts";
import { PolicyError } from "../../core/renewal.ts";
import { validateWavePolicy, type WaveSize } from "../../core/waves.ts";
import type { ApprovalMode, DryRunAnswer, RotationPlanView, StartRotationBody } from "../api-types.ts";
import {
  type CommandDeps,
  type CommandSpec,
  flag,
  positionalsOf,
  reasonOption,
  text,
  wholeNumber,
} from "../command.ts";
import { UsageError } from "../errors.ts";
import { duration, fields, indent, plural, relative, table, timestamp } from "../render.ts";

export interface RotateInput {
  /** An ACM certificate ARN, or the certificate id the API lists (resolved to its ARN). */
  certificate: string;
  dryRun: boolean;
  reason?: string;
  bakeSeconds?: number;
  approval?: ApprovalMode;
  waves?: { canarySize: number; waves: WaveSize[] };
  json: boolean;
}

/** "1,25%,50%" -> canary of 1 distribution, then waves of 25% and 50% (the rest forms one last wave). */
export function parseWaveSpec(spec: string): { canarySize: number; waves: WaveSize[] } {
  const items = spec.split(",").map((item) => item.trim());
  const sizes = items.map((item): WaveSize => {
    const percent = /^(\d+(?:\.\d+)?)%$/.exec(item);
    if (percent) return { percent: Number(percent[1]) };
    if (/^\d+$/.test(item)) return { count: Number(item) };
    throw new UsageError(
      `--waves: "${item}" is neither a count nor a percentage; use e.g. "1,25%,50%" (canary of 1, then 25%, then 50%)`,
    );
  });
  const [canary, ...waves] = sizes;
  if (!canary || !("count" in canary)) {
    throw new UsageError(`--waves: the first item is the canary wave and must be a count (e.g. "1,25%,50%")`);
  }
  if (waves.length > MAX_WAVE_SIZES) {
    throw new UsageError(
      `--waves: at most ${MAX_WAVE_SIZES} wave sizes after the canary (the API's limit), got ${waves.length}`,
    );
  }
  const policy = { canarySize: canary.count, waves };
  try {
    validateWavePolicy(policy);
  } catch (error) {
    if (error instanceof PolicyError) throw new UsageError(`--waves: ${error.message}`);
    throw error;
  }
  return policy;
}

function isArn(text: string): boolean {
  return text.startsWith("arn:");
}

/** The command to start the rotation that was just planned: the same options without --dry-run. */
function startCommand(arn: string, input: RotateInput): string {
  const parts = ["mtls-rotator rotate", arn];
  if (input.waves) {
    const sizes = input.waves.waves.map((w) => ("count" in w ? String(w.count) : `${w.percent}%`));
    parts.push(`--waves "${[String(input.waves.canarySize), ...sizes].join(",")}"`);
  }
  if (input.bakeSeconds !== undefined) parts.push(`--bake ${input.bakeSeconds}`);
  if (input.approval) parts.push(`--approval ${input.approval}`);
  if (input.reason) parts.push(`--reason ${JSON.stringify(input.reason)}`);
  return parts.join(" ");
}

export function renderPlan(plan: RotationPlanView, now: Date): string {
  const distributions = plan.waves.reduce((n, w) => n + w.distributions.length, 0);
  const waveRows = plan.waves.map((w) => [
    `wave ${w.index}${w.canary ? " (canary)" : ""}`,
    w.distributions.map((d) => `${d.distributionId} (${d.originIds.join(", ")})`).join(", "),
  ]);
  return [
    `Dry run for ${plan.certificateArn}: nothing was changed.`,
    "",
    "Certificate being replaced",
    indent(
      fields([
        ["subject", plan.subject],
        ["serial", plan.serial],
        ["expires", `${timestamp(plan.notAfter)} (${relative(plan.notAfter, now)})`],
      ]),
    ),
    "Replacement",
    indent(
      fields([
        // "EC_prime256v1 (follows CA key EC_prime256v1; was RSA_2048)": the key, and why.
        ["new key", plan.replacementKey.message],
        ["issuer", plan.issuer.authorityArn],
      ]),
    ),
    `Trust targets (the new CA bundle is published to each, and every origin must accept the new certificate, before any swap)`,
    indent(plan.trustTargets.length > 0 ? plan.trustTargets.join("\n") : "(none configured)"),
    `Waves (${plural(plan.waves.length, "wave")}, ${plural(distributions, "distribution")}; each wave is swapped, deployed, baked and gated before the next)`,
    indent(
      waveRows.length > 0
        ? table(["WAVE", "DISTRIBUTIONS (ORIGINS)"], waveRows)
        : "(no distribution presents this certificate)",
    ),
    `Expected duration: about ${duration(plan.expectedDurationSeconds.typical)}, at worst ${duration(plan.expectedDurationSeconds.worstCase)}`,
  ].join("\n");
}

async function certificateArnOf(certificate: string, deps: CommandDeps): Promise<string> {
  if (isArn(certificate)) return certificate;
  return (await deps.api.getCertificate(certificate)).certificate.arn;
}

export const rotateCommand: CommandSpec<RotateInput> = {
  name: "rotate",
  summary: "start a rotation of one certificate (or show its plan with --dry-run)",
  usage: `Usage: mtls-rotator rotate <certificate-arn | certificate-id> [options]

Starts a rotation: a replacement is issued from the Private CA, every origin is made to trust it (and must
accept it in a real mTLS request) before any distribution presents it, then distributions are swapped in
waves, each with a bake window and a health gate; a failing gate rolls everything back.
With --dry-run nothing changes: the plan is printed (new key type, issuer, trust targets, waves and the
distributions in each, expected duration).

Options:
  --dry-run                     show the plan only
  --reason <text>               why (recorded in the history and notifications)
  --bake <seconds>              manual rollback window after each wave deployed (0 = none, at most
                                ${MAX_BAKE_SECONDS}: one day)
  --approval none|between-waves wait for \`mtls-rotator approve\` after each wave passed its gate
  --waves <spec>                wave sizes: the canary count, then counts or percentages of the
                                distributions, e.g. "1,25%,50%"; the rest forms one last wave
                                (at most ${MAX_WAVE_SIZES} sizes after the canary)
  --json                        print the API's answer instead`,
  options: {
    "dry-run": { type: "boolean" },
    reason: { type: "string" },
    bake: { type: "string" },
    approval: { type: "string" },
    waves: { type: "string" },
    json: { type: "boolean" },
  },
  parse(values, positionals) {
    const [certificate] = positionalsOf(positionals, ["certificate-arn"]);
    const approval = text(values, "approval");
    if (approval !== undefined && approval !== "none" && approval !== "between-waves") {
      throw new UsageError(`--approval must be "none" or "between-waves", got ${JSON.stringify(approval)}`);
    }
    const waves = text(values, "waves");
    return {
      certificate: certificate!,
      dryRun: flag(values, "dry-run"),
      reason: reasonOption(values),
      bakeSeconds: wholeNumber(values, "bake", 0, MAX_BAKE_SECONDS),
      approval,
      waves: waves === undefined ? undefined : parseWaveSpec(waves),
      json: flag(values, "json"),
    };
  },
  async run(input, deps) {
    const certificateArn = await certificateArnOf(input.certificate, deps);
    const request: StartRotationBody = {
      certificateArn,
      ...(input.dryRun ? { dryRun: true } : {}),
      ...(input.waves ? { waves: input.waves } : {}),
      ...(input.bakeSeconds !== undefined ? { bakeSeconds: input.bakeSeconds } : {}),
      ...(input.approval ? { approval: input.approval } : {}),
      ...(input.reason ? { reason: input.reason } : {}),
    };
    const answer = await deps.api.startRotation(request);
    if (input.json) {
      deps.out(`${JSON.stringify(answer, null, 2)}\n`);
      return 0;
    }
    if ("dryRun" in answer && answer.dryRun) {
      const plan = (answer as DryRunAnswer).plan;
      deps.out(`${renderPlan(plan, deps.now())}\n\nStart it: ${startCommand(plan.certificateArn, input)}\n`);
      return 0;
    }
    if (!("rotationId" in answer)) throw new Error("the API answered without a rotation id");
    const lead = answer.started
      ? `Rotation ${answer.rotationId} started for ${certificateArn} (status: ${answer.status}).`
      : `A rotation of this certificate generation already exists: ${answer.rotationId} (status: ${answer.status}).`;
    deps.out(`${lead}\nFollow it: mtls-rotator watch ${answer.rotationId}\n`);
    return 0;
  },
};
