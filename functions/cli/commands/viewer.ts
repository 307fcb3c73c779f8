/**
 * The viewer CA migration commands, over POST/GET /viewer-migrations and the decision routes:
 * `viewer-migrate <domain>` and `viewer-retire <domain>` (a dry run waits for the plan and prints it),
 * `viewer-migrations`, `viewer-migration <id>`, `viewer-approve <id>` and `viewer-rollback <id>`.
 */
import type {
  ViewerControlAnswer,
  ViewerMigrationAction,
  ViewerMigrationAnswer,
  ViewerMigrationEventView,
  ViewerMigrationPlanView,
  ViewerMigrationStateView,
} from "../api-types.ts";
import {
  type CommandDeps,
  type CommandSpec,
  flag,
  positionalsOf,
  reasonOption,
  wholeNumber,
} from "../command.ts";
import { ApiAnswerError, CliError, ExitCode, UsageError } from "../errors.ts";
import { clock, duration, fields, indent, plural, relative, table, timestamp } from "../render.ts";

/** The reason a start records when the operator gives none (the API requires one). */
export const DEFAULT_VIEWER_REASON = "viewer CA migration via the mtls-rotator CLI";
/** Seconds between reads while a dry run plans. */
const PLAN_POLL_SECONDS = 2;
/** How long a dry run is waited for by default, in seconds. */
const DEFAULT_PLAN_WAIT_SECONDS = 120;
/** Most migrations per page of `viewer-migrations`. */
const MAX_LIST_PAGE = 100;
const VIEWER_DOMAIN = /^[a-z0-9][a-z0-9-]{0,39}$/;

// ---- rendering ------------------------------------------------------------------------------------------

/** The CA of an ARN, readable: its last segment. */
const caName = (arn: string) => arn.split("/").pop() ?? arn;

/** A plan as an operator reads it: bundle CAs, trust-store waves, passthrough origins, retirement. */
export function renderViewerPlan(plan: ViewerMigrationPlanView, now: Date): string {
  const roles = [
    ...plan.authorities.kept.map((arn) => [arn, "kept (trusted before and after)"]),
    ...plan.authorities.added.map((arn) => [arn, "added (the CA viewers move to)"]),
    ...plan.authorities.removed.map((arn) => [arn, "removed (retired)"]),
  ];
  const certificates = plan.bundle.certificates.map((c) => [
    c.subject,
    c.fingerprint.slice(0, 16),
    `${timestamp(c.notAfter)} (${relative(c.notAfter, now)})`,
  ]);
  const waves = plan.trustStoreWaves.map((wave, i) => [
    `wave ${i + 1}${i === 0 && plan.trustStoreWaves.length > 1 ? " (canary)" : ""}`,
    wave.join(", "),
  ]);
  return [
    `Plan (${plan.action}) of viewer trust domain ${plan.domain}`,
    indent(
      fields([
        ["from", plan.fromAuthorityArns.join(", ") || "-"],
        ["to", plan.toAuthorityArn],
      ]),
    ),
    `Bundle every trust point will hold (${plural(plan.bundle.certificates.length, "CA certificate")}, ${plan.bundle.bytes} bytes, sha256 ${plan.bundle.sha256.slice(0, 16)}…)`,
    indent(table(["CA", "ROLE"], roles)),
    indent(table(["SUBJECT", "SHA-256", "EXPIRES"], certificates)),
    `Trust stores (each ${"`active`"} before the next wave)`,
    indent(waves.length > 0 ? table(["WAVE", "TRUST STORES"], waves) : "(none)"),
    "Passthrough origins (each must accept a probe viewer certificate from the new CA)",
    indent(
      plan.passthrough
        ? fields([
            ["bundle", plan.passthrough.bundleTargets.join(", ") || "-"],
            ["origins", plan.passthrough.origins.join(", ") || "-"],
          ])
        : "(none)",
    ),
    "Retirement",
    indent(
      fields([
        ["old CA may retire", `${duration(plan.retirement.afterAnnouncementSeconds)} after the announcement`],
        [
          "if announced now",
          `${timestamp(plan.retirement.earliestIfAnnouncedNow)} (${relative(plan.retirement.earliestIfAnnouncedNow, now)})`,
        ],
        ["note", plan.retirement.note],
      ]),
    ),
  ].join("\n");
}

function proofLines(state: ViewerMigrationStateView): string[] {
  const proof = state.lastProof;
  if (!proof) return [];
  const rows = [
    ...proof.trustStores.map((t) => [
      t.trustStoreId,
      t.status,
      t.trustsNewCa ? "trusts the new CA" : "not yet",
    ]),
    ...proof.origins.map((o) => [
      o.origin,
      o.status === null ? "no answer" : `HTTP ${o.status}`,
      o.accepted ? "accepted" : `refused${o.error ? `: ${o.error}` : ""}`,
    ]),
  ];
  return [
    `Last proof: attempt ${proof.attempt} at ${timestamp(proof.at)}, ${proof.ok ? "proved" : "not proved yet"}`,
    indent(rows.length > 0 ? table(["TRUST POINT", "STATUS", "RESULT"], rows) : "(nothing to prove)"),
  ];
}

/** One history event in words. */
export function describeViewerEvent(event: ViewerMigrationEventView): string {
  switch (event.type) {
    case "viewer-planned":
      return `planned: ${event.plan.action} to ${caName(event.plan.toAuthorityArn)}, ${plural(event.plan.trustStoreWaves.length, "trust-store wave")}`;
    case "viewer-trust-published":
      return `published wave ${event.wave}: ${event.results.map((r) => `${r.trustPoint} ${r.ok ? "ok" : `failed (${r.error ?? "?"})`}`).join(", ")}`;
    case "viewer-trust-failed":
      return `trust point ${event.trustPoint} failed: ${event.reason}`;
    case "viewer-trust-restored":
      return `previous bundle restored: ${event.results.map((r) => `${r.trustPoint} ${r.ok ? "ok" : "failed"}`).join(", ")}`;
    case "viewer-proved":
      return `proof attempt ${event.attempt}: ${event.ok ? "proved" : "not yet"}`;
    case "viewer-control":
      return event.action === "timeout"
        ? "approval timed out"
        : `${event.action} by ${event.actor ?? "unknown"}${event.reason ? `: ${event.reason}` : ""}`;
    case "viewer-announced":
      return `viewer CA ready: ${caName(event.authorityArn)}; ${event.retiring.map(caName).join(", ") || "no CA"} may retire after ${timestamp(event.retireAfter)}`;
    case "viewer-retired":
      return `retired: ${event.removed.map((c) => c.subject).join(", ") || "nothing"}`;
    case "viewer-ended":
      return `ended ${event.status}${event.reason ? ` (${event.reason})` : ""}${event.detail ? `: ${event.detail}` : ""}`;
  }
}

/** `viewer-migration <id>`: status, plan summary, last proof, announcement, history. */
export function renderViewerMigration(answer: ViewerMigrationAnswer, now: Date): string {
  const { request, state } = answer;
  const lines = [
    `Viewer migration ${request.migrationId}: ${state.status}${state.reason ? ` (${state.reason})` : ""}`,
    indent(
      fields([
        ["domain", request.domain],
        ["action", `${request.action}${request.dryRun ? " (dry run)" : ""}`],
        ["asked by", request.actor],
        ["reason", request.reason || "-"],
        ["started", `${timestamp(answer.startedAt)} (${relative(answer.startedAt, now)})`],
        ["updated", `${timestamp(answer.updatedAt)} (${relative(answer.updatedAt, now)})`],
        ...(state.detail ? ([["detail", state.detail]] as Array<[string, string]>) : []),
      ]),
    ),
  ];
  if (state.plan) {
    const plan = state.plan;
    lines.push(
      "Plan",
      indent(
        fields([
          ["to", plan.toAuthorityArn],
          [
            "bundle",
            `${plural(plan.bundle.certificates.length, "CA certificate")} (sha256 ${plan.bundle.sha256.slice(0, 16)}…)`,
          ],
          ["trust stores", plan.trustStoreWaves.map((w) => w.join(", ")).join(" | ") || "(none)"],
          ["passthrough", plan.passthrough?.origins.join(", ") || "(none)"],
          ["retirement", `${duration(plan.retirement.afterAnnouncementSeconds)} after the announcement`],
        ]),
      ),
    );
  }
  lines.push(...proofLines(state));
  if (state.announced)
    lines.push(
      `Announced ${timestamp(state.announced.at)}: viewers may get certificates from ${state.announced.authorityArn}`,
      indent(
        `${state.announced.retiring.join(", ") || "no CA"} may retire after ${timestamp(state.announced.retireAfter)} ` +
          `(${relative(state.announced.retireAfter, now)}): mtls-rotator viewer-retire ${request.domain}`,
      ),
    );
  if (answer.control)
    lines.push(
      "Waiting for approval before the announcement:",
      indent(
        `mtls-rotator viewer-approve ${request.migrationId}    or    mtls-rotator viewer-rollback ${request.migrationId}`,
      ),
    );
  lines.push(
    `History${answer.historyStart ? ` (from event ${answer.historyStart})` : ""}`,
    indent(
      answer.history.length > 0
        ? answer.history.map((e) => `${clock(e.at)}  ${describeViewerEvent(e)}`).join("\n")
        : "(nothing recorded yet)",
    ),
  );
  return lines.join("\n");
}

// ---- commands -------------------------------------------------------------------------------------------

export interface ViewerStartInput {
  domain: string;
  action: ViewerMigrationAction;
  dryRun: boolean;
  reason: string;
  waitSeconds: number;
  json: boolean;
}

/** The dry run's record once it ended (it plans, then ends), read until then; 404 until it is recorded. */
async function endedMigration(
  migrationId: string,
  waitSeconds: number,
  deps: CommandDeps,
): Promise<ViewerMigrationAnswer> {
  const attempts = Math.max(1, Math.ceil(waitSeconds / PLAN_POLL_SECONDS));
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await deps.api.getViewerMigration(migrationId);
      if (answer.state.status !== "running") return answer;
    } catch (error) {
      if (!(error instanceof ApiAnswerError && error.status === 404)) throw error;
    }
    if (attempt >= attempts)
      throw new CliError(
        `the dry run ${migrationId} did not end within ${waitSeconds}s; look later: mtls-rotator viewer-migration ${migrationId}`,
        ExitCode.Failed,
      );
    await deps.sleep(PLAN_POLL_SECONDS * 1000);
  }
}

function startCommand(action: ViewerMigrationAction): CommandSpec<ViewerStartInput> {
  const migrate = action === "migrate";
  const name = migrate ? "viewer-migrate" : "viewer-retire";
  return {
    name,
    summary: migrate
      ? "migrate a viewer trust domain to its next CA (or show the plan with --dry-run)"
      : "retire the CAs a viewer trust domain's viewers moved away from (or show the plan with --dry-run)",
    usage: `Usage: mtls-rotator ${name} <domain> [--dry-run] [--reason <text>] [--wait <seconds>] [--json]

${
  migrate
    ? `Migrates a viewer trust domain (MTLS_ROTATOR_VIEWER_TRUST_DOMAINS) to its authorities.next CA: the old and
new CA are published to every CloudFront trust store (in waves, each active before the next) and passthrough
origin bundle, every trust point is proved to accept the new CA, then (after an approval when the domain asks
for one: mtls-rotator viewer-approve <id>) "viewer CA ready" is announced and the time the old CA may retire
is recorded.`
    : `Removes the domain's previous CAs from every trust point, once their recorded retirement time has passed
(refused before it, naming the date), and proves the CA in service is still accepted.`
}
With --dry-run nothing is published: the migration plans and ends, and its plan is printed (bundle CAs,
trust-store waves, passthrough origins, when the old CA may retire).

Options:
  --dry-run            show the plan only
  --reason <text>      why (recorded in the history and notifications; default "${DEFAULT_VIEWER_REASON}")
  --wait <seconds>     how long to wait for a dry run's plan (default ${DEFAULT_PLAN_WAIT_SECONDS})
  --json               print the API's answer (a dry run: the migration's record) instead`,
    options: {
      "dry-run": { type: "boolean" },
      reason: { type: "string" },
      wait: { type: "string" },
      json: { type: "boolean" },
    },
    parse(values, positionals) {
      const [domain] = positionalsOf(positionals, ["domain"]);
      if (!VIEWER_DOMAIN.test(domain!))
        throw new UsageError(
          `<domain> must be a viewer trust domain's name (lower-case letters, digits and -, at most 40), got ${JSON.stringify(domain)}`,
        );
      return {
        domain: domain!,
        action,
        dryRun: flag(values, "dry-run"),
        reason: reasonOption(values) ?? DEFAULT_VIEWER_REASON,
        waitSeconds: wholeNumber(values, "wait", 1, 3600) ?? DEFAULT_PLAN_WAIT_SECONDS,
        json: flag(values, "json"),
      };
    },
    async run(input, deps) {
      const started = await deps.api.startViewerMigration({
        domain: input.domain,
        action: input.action,
        reason: input.reason,
        ...(input.dryRun ? { dryRun: true } : {}),
      });
      const { migrationId } = started;
      if (!input.dryRun) {
        if (input.json) {
          deps.out(`${JSON.stringify(started, null, 2)}\n`);
          return ExitCode.Ok;
        }
        const lead = started.started
          ? `Viewer migration ${migrationId} started: ${input.action} of viewer trust domain ${input.domain}.`
          : `A viewer migration of this domain with these CAs already exists: ${migrationId}.`;
        deps.out(`${lead}\nFollow it: mtls-rotator viewer-migration ${migrationId}\n`);
        return ExitCode.Ok;
      }
      if (!input.json) deps.err(`Dry run ${migrationId}: waiting for its plan…\n`);
      const answer = await endedMigration(migrationId, input.waitSeconds, deps);
      if (input.json) {
        deps.out(`${JSON.stringify(answer, null, 2)}\n`);
        return answer.state.status === "dry-run" ? ExitCode.Ok : ExitCode.Conflict;
      }
      const { plan } = answer.state;
      if (answer.state.status !== "dry-run" || !plan) {
        deps.out(
          `The dry run ${migrationId} ended ${answer.state.status}` +
            `${answer.state.reason ? ` (${answer.state.reason})` : ""}: ${answer.state.detail ?? "no plan"}\n`,
        );
        return ExitCode.Conflict;
      }
      deps.out(
        `Dry run ${migrationId}: nothing was published.\n\n${renderViewerPlan(plan, deps.now())}\n\n` +
          `Start it: mtls-rotator ${name} ${input.domain}${input.reason !== DEFAULT_VIEWER_REASON ? ` --reason ${JSON.stringify(input.reason)}` : ""}\n`,
      );
      return ExitCode.Ok;
    },
  };
}

export const viewerMigrateCommand = startCommand("migrate");
export const viewerRetireCommand = startCommand("retire");

export interface ViewerListInput {
  limit: number;
  nextToken?: string;
  json: boolean;
}

export const viewerMigrationsCommand: CommandSpec<ViewerListInput> = {
  name: "viewer-migrations",
  summary: "list viewer CA migrations, newest first",
  usage: `Usage: mtls-rotator viewer-migrations [--limit <n>] [--next-token <token>] [--json]

Lists viewer CA migrations (dry runs included), newest first, a page at a time.

Options:
  --limit <n>              migrations per page (1..${MAX_LIST_PAGE}, default 25)
  --next-token <token>     the next page (as the previous page printed it)
  --json                   print the API's answer instead`,
  options: { limit: { type: "string" }, "next-token": { type: "string" }, json: { type: "boolean" } },
  parse(values, positionals) {
    positionalsOf(positionals, []);
    const nextToken = values["next-token"];
    return {
      limit: wholeNumber(values, "limit", 1, MAX_LIST_PAGE) ?? 25,
      ...(typeof nextToken === "string" ? { nextToken } : {}),
      json: flag(values, "json"),
    };
  },
  async run(input, deps) {
    const page = await deps.api.listViewerMigrations({
      limit: input.limit,
      ...(input.nextToken ? { nextToken: input.nextToken } : {}),
    });
    if (input.json) {
      deps.out(`${JSON.stringify(page, null, 2)}\n`);
      return ExitCode.Ok;
    }
    const now = deps.now();
    deps.out(
      `${
        page.migrations.length > 0
          ? table(
              ["MIGRATION", "STATUS", "STARTED", "UPDATED"],
              page.migrations.map((m) => [
                m.migrationId,
                m.status,
                relative(m.startedAt, now),
                relative(m.updatedAt, now),
              ]),
            )
          : "No viewer migrations."
      }\n${page.nextToken ? `More: mtls-rotator viewer-migrations --next-token ${page.nextToken}\n` : ""}`,
    );
    return ExitCode.Ok;
  },
};

export interface ViewerShowInput {
  migrationId: string;
  json: boolean;
}

export const viewerMigrationCommand: CommandSpec<ViewerShowInput> = {
  name: "viewer-migration",
  summary: "show a viewer CA migration: status, plan, last proof, announcement, history",
  usage: `Usage: mtls-rotator viewer-migration <migration-id> [--json]

Shows a viewer CA migration: its status (and why it ended), the plan, the last proof of every trust point,
when the new CA was announced and when the old one may retire, whether it waits for approval, and its history.

Options:
  --json               print the API's answer instead`,
  options: { json: { type: "boolean" } },
  parse(values, positionals) {
    const [migrationId] = positionalsOf(positionals, ["migration-id"]);
    return { migrationId: migrationId!, json: flag(values, "json") };
  },
  async run(input, deps) {
    const answer = await deps.api.getViewerMigration(input.migrationId);
    deps.out(
      input.json ? `${JSON.stringify(answer, null, 2)}\n` : `${renderViewerMigration(answer, deps.now())}\n`,
    );
    return ExitCode.Ok;
  },
};

export interface ViewerControlInput {
  migrationId: string;
  reason?: string;
  json: boolean;
}

function viewerControlCommand(action: ViewerControlAnswer["action"]): CommandSpec<ViewerControlInput> {
  const rollback = action === "rollback";
  const name = rollback ? "viewer-rollback" : "viewer-approve";
  return {
    name,
    summary: rollback
      ? "roll a running viewer migration back (every trust point gets its previous bundle)"
      : "approve the announcement of a viewer migration waiting for approval",
    usage: `Usage: mtls-rotator ${name} <migration-id> [--reason <text>] [--json]

${
  rollback
    ? `Rolls a running viewer migration back: every trust point it reached gets the bundle it held before, and
nothing is announced. At its approval the rollback is delivered at once; while it publishes or proves, it is
recorded and acted on at the next safe point (before the next publish, after the current proof attempt).`
    : `Approves the announcement of a viewer migration whose domain asks for approval (before-announce), once
every trust point was proved to accept the new CA; it is proved once more, then announced.`
} ${rollback ? "When the migration has ended" : "When the migration is not waiting for approval"}, the API refuses with the status it found (exit 5).

Options:
  --reason <text>      ${rollback ? "why (recorded in the migration's history)" : "note recorded with the approval"}
  --json               print the API's answer instead`,
    options: { reason: { type: "string" }, json: { type: "boolean" } },
    parse(values, positionals) {
      const [migrationId] = positionalsOf(positionals, ["migration-id"]);
      return { migrationId: migrationId!, reason: reasonOption(values), json: flag(values, "json") };
    },
    async run(input, deps) {
      const answer = await deps.api.controlViewerMigration(input.migrationId, action, input.reason);
      if (input.json) {
        deps.out(`${JSON.stringify(answer, null, 2)}\n`);
        return ExitCode.Ok;
      }
      const what = !rollback
        ? `Approved: viewer migration ${answer.migrationId} proves once more, then announces the new CA.`
        : answer.kind === "requested"
          ? `Rollback recorded for viewer migration ${answer.migrationId}: at its next safe point (before the next publish, after the current proof attempt) every trust point it reached gets its previous bundle back.`
          : `Rollback delivered to viewer migration ${answer.migrationId}: every trust point gets its previous bundle back.`;
      deps.out(`${what}\nFollow it: mtls-rotator viewer-migration ${answer.migrationId}\n`);
      return ExitCode.Ok;
    },
  };
}

export const viewerApproveCommand = viewerControlCommand("approve");
export const viewerRollbackCommand = viewerControlCommand("rollback");
