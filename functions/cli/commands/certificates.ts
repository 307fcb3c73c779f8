/** `mtls-rotator certificates`: the tracked certificates, soonest expiry first, with decision and drift. */
import { MAX_CERTIFICATE_PAGE, MAX_EXPIRY_WINDOW_DAYS } from "../../api/schemas.ts";
import type { CertificateView } from "../api-types.ts";
import { type CommandSpec, flag, wholeNumber } from "../command.ts";
import { allCertificates, MAX_LISTING_PAGES } from "../paging.ts";
import { indent, plural, table } from "../render.ts";

export interface CertificatesInput {
  due: boolean;
  expiringWithinDays?: number;
  json: boolean;
}

function decisionText(c: CertificateView): string {
  if (c.retired) return `${c.decision.reason} (retired)`;
  return c.decision.reason;
}

export function certificateTable(certificates: CertificateView[]): string {
  const sorted = [...certificates].sort((a, b) => a.daysToExpiry - b.daysToExpiry || (a.id < b.id ? -1 : 1));
  const rows = sorted.map((c) => [
    c.id,
    c.subject,
    String(c.daysToExpiry),
    decisionText(c),
    String(new Set(c.usage.map((u) => u.distributionId)).size),
    (c.drift ?? []).length > 0 ? `DRIFT(${c.drift!.length})` : "",
  ]);
  return table(["ID", "SUBJECT", "DAYS LEFT", "DECISION", "USED BY", "DRIFT"], rows, [
    false,
    false,
    true,
    false,
    true,
  ]);
}

export const certificatesCommand: CommandSpec<CertificatesInput> = {
  name: "certificates",
  summary: "the tracked certificates: days left, renewal decision, usage, drift",
  usage: `Usage: mtls-rotator certificates [--due] [--expiring-within <days>] [--json]

Lists the client certificates the service tracks, soonest expiry first: days left, the renewal decision
(Due, Expired, Fresh, NotManaged, ...), how many distributions present each, and drift (a distribution
presenting a certificate it should not: unmanaged or retired), with each finding under the table.
The API answers a page at a time and every page is read, up to ${MAX_LISTING_PAGES * MAX_CERTIFICATE_PAGE} certificates
(narrow the listing with the options below beyond that).

Options:
  --due                       only certificates due for rotation
  --expiring-within <days>    only certificates expiring within that many days (0 to ${MAX_EXPIRY_WINDOW_DAYS})
  --json                      print the certificates as JSON ({ certificates }, every page) instead`,
  options: {
    due: { type: "boolean" },
    "expiring-within": { type: "string" },
    json: { type: "boolean" },
  },
  parse: (values) => ({
    due: flag(values, "due"),
    expiringWithinDays: wholeNumber(values, "expiring-within", 0, MAX_EXPIRY_WINDOW_DAYS),
    json: flag(values, "json"),
  }),
  async run(input, deps) {
    const certificates = await allCertificates(deps.api, {
      ...(input.due ? { due: true } : {}),
      ...(input.expiringWithinDays !== undefined ? { expiringWithinDays: input.expiringWithinDays } : {}),
    });
    if (input.json) {
      deps.out(`${JSON.stringify({ certificates }, null, 2)}\n`);
      return 0;
    }
    if (certificates.length === 0) {
      deps.out("No certificates match.\n");
      return 0;
    }
    const due = certificates.filter((c) => c.due).length;
    const drifting = certificates.filter((c) => (c.drift ?? []).length > 0);
    const lines = [
      certificateTable(certificates),
      "",
      `${plural(certificates.length, "certificate")} (${due} due${drifting.length ? `, ${drifting.length} with drift` : ""})`,
    ];
    if (drifting.length > 0) {
      lines.push("Drift:");
      for (const c of drifting) {
        for (const d of c.drift ?? []) {
          lines.push(indent(`${c.id}: ${d.distributionId}/${d.originId} ${d.kind}: ${d.detail}`));
        }
      }
    }
    deps.out(`${lines.join("\n")}\n`);
    return 0;
  },
};
