/** `mtls-rotator status`: the overview an operator starts with (certificates, rotations running and recent). */
import { TERMINAL_STATUSES } from "../../core/rotation.ts";
import type { CertificateView, RotationSummaryView } from "../api-types.ts";
import { type CommandSpec, flag } from "../command.ts";
import { allCertificates } from "../paging.ts";
import { indent, plural, relative, shortArn, table, truncate } from "../render.ts";

export interface StatusInput {
  json: boolean;
}

/** Expiring-soon horizon of the overview (the 14-day alert threshold). */
const SOON_DAYS = 14;
const SOONEST = 5;
const RECENT = 5;
const OVERVIEW_TOO_LARGE =
  "the overview reads the whole inventory; list a part of it with mtls-rotator certificates --due or --expiring-within <days>";
/** One page of recent rotations is enough for an overview. */
const ROTATION_PAGE = 50;

export function certificateSummary(certificates: CertificateView[]): string {
  const managed = certificates.filter((c) => c.managed && !c.retired);
  const due = managed.filter((c) => c.due).length;
  const soon = managed.filter((c) => c.daysToExpiry <= SOON_DAYS).length;
  const drift = certificates.filter((c) => (c.drift ?? []).length > 0).length;
  return (
    `Certificates: ${certificates.length} tracked, ${managed.length} managed ` +
    `(${due} due, ${soon} expiring within ${SOON_DAYS} days)` +
    (drift > 0 ? `, ${plural(drift, "certificate")} with drift (see: mtls-rotator certificates)` : "")
  );
}

function distributionsUsing(c: CertificateView): number {
  return new Set(c.usage.map((u) => u.distributionId)).size;
}

function rotationRows(rotations: RotationSummaryView[], now: Date, when: "started" | "updated"): string[][] {
  return rotations.map((r) => [
    r.rotationId,
    r.status,
    `${when} ${relative(when === "started" ? r.startedAt : r.updatedAt, now)}`,
    shortArn(r.certificateArn),
  ]);
}

export const statusCommand: CommandSpec<StatusInput> = {
  name: "status",
  summary: "overview: certificates managed, due and expiring soonest; rotations running and recent",
  usage: `Usage: mtls-rotator status [--json]

Shows what the service manages and what it is doing: how many certificates are tracked, managed and due,
the ones expiring soonest, the rotations running (with the command to watch each) and the latest ended.

Options:
  --json               print the API's answers ({ certificates: every page, rotations }) instead`,
  options: { json: { type: "boolean" } },
  parse: (values) => ({ json: flag(values, "json") }),
  async run(input, deps) {
    const [certificates, list] = await Promise.all([
      allCertificates(deps.api, {}, { narrow: OVERVIEW_TOO_LARGE }),
      deps.api.listRotations({ limit: ROTATION_PAGE }),
    ]);
    if (input.json) {
      deps.out(`${JSON.stringify({ certificates, rotations: list.rotations }, null, 2)}\n`);
      return 0;
    }
    const now = deps.now();
    const lines = [certificateSummary(certificates)];
    const soonest = certificates
      .filter((c) => c.managed && !c.retired)
      .sort((a, b) => a.daysToExpiry - b.daysToExpiry)
      .slice(0, SOONEST);
    if (soonest.length > 0) {
      lines.push("Expiring soonest:");
      const rows = soonest.map((c) => [
        String(c.daysToExpiry),
        c.id,
        truncate(c.subject, 40),
        c.decision.reason,
        plural(distributionsUsing(c), "distribution"),
      ]);
      lines.push(indent(table(["DAYS", "ID", "SUBJECT", "DECISION", "USED BY"], rows, [true])));
    }
    const byRecent = [...list.rotations].sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : -1));
    const running = byRecent.filter((r) => !TERMINAL_STATUSES.includes(r.status));
    const ended = byRecent.filter((r) => TERMINAL_STATUSES.includes(r.status)).slice(0, RECENT);
    lines.push("");
    if (running.length === 0) {
      lines.push("Rotations running: none");
    } else {
      lines.push(`Rotations running: ${running.length}`);
      lines.push(
        indent(table(["ROTATION", "STATUS", "SINCE", "CERTIFICATE"], rotationRows(running, now, "started"))),
      );
      lines.push(`  Follow one: mtls-rotator watch ${running[0]!.rotationId}`);
    }
    if (ended.length > 0) {
      lines.push("Recent rotations:");
      lines.push(
        indent(
          table(["ROTATION", "STATUS", "LAST CHANGE", "CERTIFICATE"], rotationRows(ended, now, "updated")),
        ),
      );
    }
    deps.out(`${lines.join("\n")}\n`);
    return 0;
  },
};
