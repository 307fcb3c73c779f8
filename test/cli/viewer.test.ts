/**
 * The viewer CA migration commands (viewer-migrate, viewer-retire, viewer-migrations, viewer-migration,
 * viewer-approve, viewer-rollback): the real commands, parsed from argv, signing every request with SigV4,
 * against the HTTP API stand-in answering as the contract says (test/cli/fixtures.ts).
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_VIEWER_REASON } from "../../functions/cli/commands/viewer.ts";
import { OPERATOR_COMMANDS, type OperatorEnvironment } from "../../functions/cli/main.ts";
import {
  at,
  OPERATOR,
  runOperator,
  useContractApi,
  VIEWER_CA_A,
  VIEWER_CA_B,
  VIEWER_DRY_RUN_ID,
  VIEWER_MIGRATION_ID,
  viewerAnnouncedEvents,
  viewerAnswerOf,
  viewerPlan,
  viewerRequest,
  viewerWaitingEvents,
} from "./fixtures.ts";

const contract = useContractApi();

const run = (args: string[], overrides: Partial<OperatorEnvironment> = {}) =>
  runOperator(contract.api, args, overrides);

/** The bodies POST /viewer-migrations received (the API stand-in records no bodies). */
const bodies = () => contract.api.backend.viewerStarted;

describe("viewer-migrate --dry-run", () => {
  it("waits for the plan and prints it: bundle CAs, trust-store waves, passthrough origins, retirement", async () => {
    const request = viewerRequest(VIEWER_DRY_RUN_ID, true);
    const planned = [{ type: "viewer-planned" as const, at: at(1), plan: viewerPlan() }];
    contract.api.backend.viewerMigrations.set(VIEWER_DRY_RUN_ID, [
      "not-yet",
      viewerAnswerOf(request, planned),
      viewerAnswerOf(request, [...planned, { type: "viewer-ended", at: at(2), status: "dry-run" }]),
    ]);
    const { code, stdout, stderr, requests } = await run([
      "viewer-migrate",
      "partners",
      "--dry-run",
      "--reason",
      "CA A retires in March",
    ]);
    expect(code, stderr).toBe(0);
    expect(bodies()).toEqual([
      { domain: "partners", action: "migrate", reason: "CA A retires in March", dryRun: true },
    ]);
    // Read until it ended: 404 while not recorded, then running, then dry-run.
    expect(requests.filter((r) => r.method === "GET").map((r) => r.path)).toEqual([
      `/viewer-migrations/${VIEWER_DRY_RUN_ID}`,
      `/viewer-migrations/${VIEWER_DRY_RUN_ID}`,
      `/viewer-migrations/${VIEWER_DRY_RUN_ID}`,
    ]);
    expect(stderr).toBe(`Dry run ${VIEWER_DRY_RUN_ID}: waiting for its plan…\n`);
    for (const expected of [
      `Dry run ${VIEWER_DRY_RUN_ID}: nothing was published.`,
      "Plan (migrate) of viewer trust domain partners",
      `${VIEWER_CA_A}  kept (trusted before and after)`,
      `${VIEWER_CA_B}  added (the CA viewers move to)`,
      "CN=Partner Viewers CA A",
      "CN=Partner Viewers CA B",
      "wave 1 (canary)  TS-CANARY",
      "wave 2           TS-REST",
      "origins  partner-api",
      "old CA may retire  404d after the announcement",
      'Start it: mtls-rotator viewer-migrate partners --reason "CA A retires in March"',
    ])
      expect(stdout).toContain(expected);
    expect(stdout).not.toContain("-----BEGIN");
  });

  it("a dry run the workflow refused: its reason and detail, exit 5", async () => {
    const request = viewerRequest(VIEWER_DRY_RUN_ID, true);
    contract.api.backend.viewerMigrations.set(VIEWER_DRY_RUN_ID, [
      viewerAnswerOf(request, [
        {
          type: "viewer-ended",
          at: at(2),
          status: "refused",
          reason: "Refused",
          detail: "viewer trust domain partners names no authorities.next",
        },
      ]),
    ]);
    const { code, stdout } = await run(["viewer-migrate", "partners", "--dry-run"]);
    expect(code).toBe(5);
    expect(stdout).toBe(
      `The dry run ${VIEWER_DRY_RUN_ID} ended refused (Refused): viewer trust domain partners names no authorities.next\n`,
    );
  });

  it("gives up after --wait, naming the command to look later (exit 1)", async () => {
    const request = viewerRequest(VIEWER_DRY_RUN_ID, true);
    contract.api.backend.viewerMigrations.set(VIEWER_DRY_RUN_ID, [viewerAnswerOf(request, [])]);
    const { code, stderr, requests } = await run(["viewer-migrate", "partners", "--dry-run", "--wait", "6"]);
    expect(code).toBe(1);
    expect(requests.filter((r) => r.method === "GET")).toHaveLength(3);
    expect(stderr).toContain(
      `the dry run ${VIEWER_DRY_RUN_ID} did not end within 6s; look later: mtls-rotator viewer-migration ${VIEWER_DRY_RUN_ID}`,
    );
  });
});

describe("viewer-migrate and viewer-retire", () => {
  it("start a migration (the default reason when none is given) and tell how to follow it", async () => {
    const migrate = await run(["viewer-migrate", "partners"]);
    expect(migrate.code).toBe(0);
    expect(bodies()).toEqual([{ domain: "partners", action: "migrate", reason: DEFAULT_VIEWER_REASON }]);
    expect(migrate.stdout).toBe(
      `Viewer migration ${VIEWER_MIGRATION_ID} started: migrate of viewer trust domain partners.\n` +
        `Follow it: mtls-rotator viewer-migration ${VIEWER_MIGRATION_ID}\n`,
    );
    const retire = await run(["viewer-retire", "partners", "--reason", "A expired", "--json"]);
    expect(retire.code).toBe(0);
    expect(bodies().at(-1)).toEqual({ domain: "partners", action: "retire", reason: "A expired" });
    expect(JSON.parse(retire.stdout)).toMatchObject({
      migrationId: "vmig-r-partners-0123456789ab",
      action: "retire",
      dryRun: false,
      started: true,
    });
  });

  it("an unknown domain: the API's 404 naming the configured ones, exit 2; a running one: exit 5", async () => {
    const unknown = await run(["viewer-migrate", "vendors"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      'no viewer trust domain "vendors" in this stage\'s settings; configured: partners',
    );
    contract.api.backend.viewerMigrations.set("vmig-m-partners-ffffffffffff", [
      viewerAnswerOf(viewerRequest("vmig-m-partners-ffffffffffff"), viewerWaitingEvents()),
    ]);
    const running = await run(["viewer-migrate", "partners"]);
    expect(running.code).toBe(5);
    expect(running.stderr).toContain(
      "viewer migration vmig-m-partners-ffffffffffff of viewer trust domain partners is running",
    );
  });

  it("a malformed domain or reason is a usage error and sends nothing", async () => {
    for (const args of [
      ["viewer-migrate", "Partners!"],
      ["viewer-migrate"],
      ["viewer-retire", "partners", "extra"],
      ["viewer-migrate", "partners", "--reason", "two\nlines"],
      ["viewer-migrate", "partners", "--dry-run", "--wait", "0"],
    ]) {
      const { code, requests, stderr } = await run(args);
      expect(code, args.join(" ")).toBe(2);
      expect(requests, args.join(" ")).toEqual([]);
      expect(stderr).toContain(`Run "mtls-rotator ${args[0]} --help" for usage.`);
    }
  });
});

describe("viewer-migrations and viewer-migration", () => {
  it("lists migrations newest first, a page at a time", async () => {
    const backend = contract.api.backend;
    backend.viewerMigrations.set(VIEWER_MIGRATION_ID, [
      viewerAnswerOf(viewerRequest(VIEWER_MIGRATION_ID), viewerAnnouncedEvents()),
    ]);
    backend.viewerMigrations.set(VIEWER_DRY_RUN_ID, [
      viewerAnswerOf(viewerRequest(VIEWER_DRY_RUN_ID, true), [
        { type: "viewer-ended", at: at(2), status: "dry-run" },
      ]),
    ]);
    const first = await run(["viewer-migrations", "--limit", "1"]);
    expect(first.code).toBe(0);
    expect(first.requests[0]!.rawQueryString).toBe("limit=1");
    const lines = first.stdout.split("\n");
    expect(lines[0]).toMatch(/^MIGRATION\s+STATUS\s+STARTED\s+UPDATED$/);
    expect(lines[1]).toMatch(new RegExp(`^${VIEWER_MIGRATION_ID}\\s+announced\\s`));
    expect(first.stdout).toContain("More: mtls-rotator viewer-migrations --next-token 1");
    const second = await run(["viewer-migrations", "--limit", "1", "--next-token", "1"]);
    expect(second.stdout).toMatch(new RegExp(`^MIGRATION.*\\n${VIEWER_DRY_RUN_ID}\\s+dry-run`));
    expect(second.stdout).not.toContain("More:");
  });

  it("shows a migration waiting for approval: plan, last proof, how to decide", async () => {
    contract.api.backend.viewerMigrations.set(VIEWER_MIGRATION_ID, [
      viewerAnswerOf(viewerRequest(VIEWER_MIGRATION_ID), viewerWaitingEvents(), { control: true }),
    ]);
    const { code, stdout } = await run(["viewer-migration", VIEWER_MIGRATION_ID]);
    expect(code).toBe(0);
    for (const expected of [
      `Viewer migration ${VIEWER_MIGRATION_ID}: running`,
      "domain    partners",
      `asked by  ${OPERATOR.principalArn}`,
      `to            ${VIEWER_CA_B}`,
      "trust stores  TS-CANARY | TS-REST",
      "Last proof: attempt 2",
      "TS-CANARY    active    trusts the new CA",
      "partner-api  HTTP 200  accepted",
      "Waiting for approval before the announcement:",
      `mtls-rotator viewer-approve ${VIEWER_MIGRATION_ID}    or    mtls-rotator viewer-rollback ${VIEWER_MIGRATION_ID}`,
      "published wave 2: TS-REST ok",
    ])
      expect(stdout).toContain(expected);
  });

  it("shows an announced migration: when the old CA may retire, who approved", async () => {
    contract.api.backend.viewerMigrations.set(VIEWER_MIGRATION_ID, [
      viewerAnswerOf(viewerRequest(VIEWER_MIGRATION_ID), viewerAnnouncedEvents()),
    ]);
    const { code, stdout } = await run(["viewer-migration", VIEWER_MIGRATION_ID]);
    expect(code).toBe(0);
    expect(stdout).toContain(`Viewer migration ${VIEWER_MIGRATION_ID}: announced`);
    expect(stdout).toContain(
      `Announced 2026-03-02 10:02:30Z: viewers may get certificates from ${VIEWER_CA_B}`,
    );
    expect(stdout).toContain(
      `${VIEWER_CA_A} may retire after 2027-04-10 11:00:00Z (in 404d): mtls-rotator viewer-retire partners`,
    );
    expect(stdout).toContain(`approve by ${OPERATOR.principalArn}: partners ready`);
    expect(stdout).not.toContain("Waiting for approval");
    const json = await run(["viewer-migration", VIEWER_MIGRATION_ID, "--json"]);
    expect(JSON.parse(json.stdout).state.announced.retireAfter).toBe("2027-04-10T11:00:00.000Z");
  });
});

describe("viewer-approve and viewer-rollback", () => {
  it("deliver the decision with its reason", async () => {
    const backend = contract.api.backend;
    backend.viewerMigrations.set(VIEWER_MIGRATION_ID, [
      viewerAnswerOf(viewerRequest(VIEWER_MIGRATION_ID), viewerWaitingEvents(), { control: true }),
    ]);
    backend.viewerControls.add(VIEWER_MIGRATION_ID);
    const approve = await run(["viewer-approve", VIEWER_MIGRATION_ID, "--reason", "partners ready"]);
    expect(approve.code).toBe(0);
    expect(approve.stdout).toBe(
      `Approved: viewer migration ${VIEWER_MIGRATION_ID} proves once more, then announces the new CA.\n` +
        `Follow it: mtls-rotator viewer-migration ${VIEWER_MIGRATION_ID}\n`,
    );
    const rollback = await run(["viewer-rollback", VIEWER_MIGRATION_ID, "--json"]);
    expect(JSON.parse(rollback.stdout)).toEqual({
      migrationId: VIEWER_MIGRATION_ID,
      action: "rollback",
      kind: "approval",
    });
    expect(backend.viewerDecisions).toEqual([
      { migrationId: VIEWER_MIGRATION_ID, action: "approve", body: { reason: "partners ready" } },
      { migrationId: VIEWER_MIGRATION_ID, action: "rollback", body: {} },
    ]);
  });

  it("a rollback while the migration publishes or proves is recorded for its next safe point", async () => {
    const backend = contract.api.backend;
    backend.viewerMigrations.set(VIEWER_MIGRATION_ID, [
      viewerAnswerOf(viewerRequest(VIEWER_MIGRATION_ID), viewerWaitingEvents()),
    ]);
    const rollback = await run(["viewer-rollback", VIEWER_MIGRATION_ID, "--reason", "refusals reported"]);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toBe(
      `Rollback recorded for viewer migration ${VIEWER_MIGRATION_ID}: at its next safe point (before the next publish, after the current proof attempt) every trust point it reached gets its previous bundle back.\n` +
        `Follow it: mtls-rotator viewer-migration ${VIEWER_MIGRATION_ID}\n`,
    );
    expect(backend.viewerDecisions.at(-1)).toEqual({
      migrationId: VIEWER_MIGRATION_ID,
      action: "rollback",
      body: { reason: "refusals reported" },
    });
    // Approval has nothing to be delivered to.
    const approve = await run(["viewer-approve", VIEWER_MIGRATION_ID]);
    expect(approve.code).toBe(5);
    expect(approve.stderr).toContain("is running and not waiting for approval");
  });

  it("not waiting for approval: exit 5 with the status found; unknown: exit 2", async () => {
    contract.api.backend.viewerMigrations.set(VIEWER_MIGRATION_ID, [
      viewerAnswerOf(viewerRequest(VIEWER_MIGRATION_ID), viewerAnnouncedEvents()),
    ]);
    const ended = await run(["viewer-rollback", VIEWER_MIGRATION_ID]);
    expect(ended.code).toBe(5);
    expect(ended.stderr).toContain(`viewer migration ${VIEWER_MIGRATION_ID} has already ended (announced)`);
    const unknown = await run(["viewer-approve", "vmig-m-partners-000000000000"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no viewer migration vmig-m-partners-000000000000");
  });
});

describe("--help", () => {
  it("every viewer command has its usage, the API options and the exit codes", async () => {
    const names = OPERATOR_COMMANDS.map((c) => c.name).filter((n) => n.startsWith("viewer-"));
    expect(names).toEqual([
      "viewer-revocation",
      "viewer-migrate",
      "viewer-retire",
      "viewer-migrations",
      "viewer-migration",
      "viewer-approve",
      "viewer-rollback",
      "viewer-inventory",
    ]);
    for (const name of names) {
      const { code, stdout, requests } = await run([name, "--help"]);
      expect(code).toBe(0);
      expect(requests).toEqual([]);
      expect(stdout).toMatch(new RegExp(`^Usage: mtls-rotator ${name} `));
      expect(stdout).toContain("API options (every command):");
      expect(stdout).toContain("Exit codes:");
    }
  });
});
