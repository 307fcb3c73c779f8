/**
 * `mtls-rotator viewer-inventory`: the viewer mTLS inventory the full scan keeps (GET /viewer-mtls):
 * distributions by mode and trust store, trust stores, drift.
 */
import type { ViewerMtlsAnswer } from "../api-types.ts";
import { type CommandSpec, flag, positionalsOf } from "../command.ts";
import { indent, plural, relative, table } from "../render.ts";

export interface ViewerInventoryInput {
  json: boolean;
}

type Distribution = ViewerMtlsAnswer["distributions"][number];

/** How a distribution's origins get the viewer's certificate: passthrough behaviours, by forwarding. */
function forwardingText(d: Distribution): string {
  if (d.mode !== "passthrough") return "";
  const behaviours = d.behaviours ?? [];
  const count = (value: "yes" | "no" | "unknown") =>
    behaviours.filter((b) => b.clientCertForwarding === value).length;
  const no = count("no");
  const unknown = count("unknown");
  if (no === 0 && unknown === 0) return `all ${behaviours.length} forward Client-Cert`;
  return [no ? `${no} not forwarding` : "", unknown ? `${unknown} unknown` : ""].filter(Boolean).join(", ");
}

export function viewerDistributionTable(distributions: Distribution[]): string {
  const rows = distributions.map((d) => [d.distributionId, d.mode, d.trustStoreId ?? "-", forwardingText(d)]);
  return table(["DISTRIBUTION", "MODE", "TRUST STORE", "CLIENT-CERT (PASSTHROUGH)"], rows);
}

export function trustStoreTable(answer: ViewerMtlsAnswer): string {
  const { distributionsPerTrustStore, caCertificatesPerTrustStore } = answer.quotas;
  const rows = answer.trustStores.map((t) => [
    t.id,
    t.name,
    t.status,
    `${t.caCertificates}/${caCertificatesPerTrustStore}`,
    `${t.distributions}/${distributionsPerTrustStore}`,
  ]);
  return table(["TRUST STORE", "NAME", "STATUS", "CAS", "DISTRIBUTIONS"], rows, [
    false,
    false,
    false,
    true,
    true,
  ]);
}

/** The text of the whole inventory. */
export function viewerInventoryText(answer: ViewerMtlsAnswer, now: Date): string {
  const { byMode } = answer;
  const lines = [
    `Viewer mTLS (scanned ${relative(answer.scannedAt, now)}): ` +
      `${byMode.required} required, ${byMode.optional} optional, ${byMode.passthrough} passthrough, ` +
      `${byMode.none} without`,
  ];
  if (answer.distributions.length > 0) lines.push("", viewerDistributionTable(answer.distributions));
  lines.push(
    "",
    answer.trustStores.length > 0 ? trustStoreTable(answer) : "No trust stores.",
    `${plural(answer.trustStores.length, "trust store")} of at most ${answer.quotas.trustStoresPerAccount}`,
  );
  for (const t of answer.trustStores) {
    if (t.status === "failed") lines.push(indent(`${t.id} failed: ${t.reason ?? "no reason given"}`));
  }
  lines.push("");
  const driftTotal = answer.drift.length + (answer.omitted?.drift ?? 0);
  if (driftTotal === 0) lines.push("No drift.");
  else {
    const shown =
      answer.drift.length < driftTotal ? `${answer.drift.length} of ${driftTotal}` : `${driftTotal}`;
    lines.push(`Drift (${shown}):`);
    for (const f of answer.drift) lines.push(indent(`${f.kind}: ${f.detail}`));
  }
  if (answer.omitted) {
    lines.push(
      "",
      `Not shown (the API's answer size limit): ${plural(answer.omitted.distributions, "more distribution")}, ` +
        `${plural(answer.omitted.drift, "more drift finding")}; every count above is whole.`,
    );
  }
  return `${lines.join("\n")}\n`;
}

export const viewerInventoryCommand: CommandSpec<ViewerInventoryInput> = {
  name: "viewer-inventory",
  summary: "viewer mTLS: distributions by mode and trust store, trust stores, drift",
  usage: `Usage: mtls-rotator viewer-inventory [--json]

Shows what the last full scan found of viewer mTLS (CloudFront validating viewers' certificates): every
distribution with viewer mTLS, its mode (required, optional, passthrough) and trust store, and for
passthrough whether each cache behaviour's origin request policy forwards Client-Cert and
Client-Cert-Chain; every trust store with its status, CA certificates and distributions against CloudFront's
quotas; and drift: a passthrough behaviour not forwarding the certificate (or forwarding all viewer headers,
which AWS does not document as including it), a failed trust store, a quota at least 80% used.
Run \`mtls-rotator scan\` first when the API has no inventory yet.

Options:
  --json               print the API's answer instead`,
  options: { json: { type: "boolean" } },
  parse: (values, positionals) => {
    positionalsOf(positionals, []);
    return { json: flag(values, "json") };
  },
  async run(input, deps) {
    const answer = await deps.api.viewerMtls();
    if (input.json) {
      deps.out(`${JSON.stringify(answer, null, 2)}\n`);
      return 0;
    }
    deps.out(viewerInventoryText(answer, deps.now()));
    return 0;
  },
};
