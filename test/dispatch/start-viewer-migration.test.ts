/**
 * Naming and starting viewer CA migrations (functions/dispatch/start-viewer-migration.ts): the migration id is
 * the durable execution's name, a function of the domain, the action and the domain's CAs (and a dry run's
 * minute), valid for Lambda at its longest, converging where a duplicate should and moving on where a retry
 * must. Whole migrations through the API: test/handlers/api/viewer-migrations.test.ts.
 */
import { describe, expect, it } from "vitest";
import { ViewerTrustDomainSchema } from "../../functions/config/viewer-settings.ts";
import { VIEWER_MIGRATION_ID } from "../../functions/core/requests.ts";
import {
  startViewerMigration,
  viewerMigrationBaseName,
} from "../../functions/dispatch/start-viewer-migration.ts";
import type { ViewerMigrationInput } from "../../functions/workflow/viewer-migration.ts";

const CA = (n: number) =>
  `arn:aws:acm-pca:us-east-2:123456789012:certificate-authority/${String(n).repeat(8)}-5555-4666-8777-888888888888`;
const domain = (name: string, next = CA(2)) =>
  ViewerTrustDomainSchema.parse({
    name,
    authorities: { current: CA(1), next, previous: [] },
    trustStoreIds: ["TS1"],
  });
const NOW = new Date("2026-12-05T07:00:30Z");
const request = (over: Partial<Parameters<typeof viewerMigrationBaseName>[0]> = {}) => ({
  domain: domain("partners"),
  action: "migrate" as const,
  actor: "arn:aws:iam::123456789012:user/alice",
  reason: "move to CA 2",
  ...over,
});

describe("viewer migration ids", () => {
  it("name the action, the domain and what it acts on; another CA or action is another id", () => {
    const base = viewerMigrationBaseName(request(), NOW);
    expect(base).toMatch(/^vmig-m-partners-[0-9a-f]{12}$/);
    // Actor and reason do not name it: duplicates from anyone converge.
    expect(viewerMigrationBaseName(request({ actor: "someone else", reason: "other" }), NOW)).toBe(base);
    expect(viewerMigrationBaseName(request({ domain: domain("partners", CA(3)) }), NOW)).not.toBe(base);
    expect(viewerMigrationBaseName(request({ action: "retire" }), NOW)).toMatch(/^vmig-r-partners-/);
    // A real migration's id does not depend on the time; a dry run's does, by the minute.
    expect(viewerMigrationBaseName(request(), new Date("2027-01-01T00:00:00Z"))).toBe(base);
    const dry = viewerMigrationBaseName(request({ dryRun: true }), NOW);
    expect(dry).toMatch(/^vdry-m-partners-[0-9a-f]{12}$/);
    expect(viewerMigrationBaseName(request({ dryRun: true }), new Date("2026-12-05T07:00:59Z"))).toBe(dry);
    expect(viewerMigrationBaseName(request({ dryRun: true }), new Date("2026-12-05T07:01:00Z"))).not.toBe(
      dry,
    );
  });

  it("are durable execution names (at most 64 of [A-Za-z0-9_-]) for the longest domain name, at its last attempt", () => {
    const longest = "a".repeat(40);
    const base = viewerMigrationBaseName(request({ domain: domain(longest) }), NOW);
    for (const id of [base, `${base}-20`]) {
      expect(id).toMatch(VIEWER_MIGRATION_ID);
      expect(id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    }
  });

  it("start once per name: a running or announced one converges, an ended one takes the next attempt", async () => {
    const statuses = new Map<string, string>();
    const started: Array<{ name: string; payload: ViewerMigrationInput }> = [];
    const starter = {
      async start(name: string, payload: ViewerMigrationInput) {
        const first = !started.some((s) => s.name === name);
        started.push({ name, payload });
        return { started: first };
      },
    };
    const history = {
      statusOf: async (id: string) => statuses.get(id),
      lockHolder: async () => undefined,
    };
    const base = viewerMigrationBaseName(request(), NOW);
    const first = await startViewerMigration(starter, history, request(), NOW);
    expect(first).toEqual({ migrationId: base, started: true });
    expect(started[0]!.payload).toEqual({
      migrationId: base,
      domain: "partners",
      action: "migrate",
      actor: "arn:aws:iam::123456789012:user/alice",
      reason: "move to CA 2",
    });
    statuses.set(base, "announced");
    expect(await startViewerMigration(starter, history, request(), NOW)).toEqual({
      migrationId: base,
      started: false,
    });
    for (const ended of ["failed", "rolled-back", "refused"]) {
      statuses.set(base, ended);
      expect((await startViewerMigration(starter, history, request(), NOW)).migrationId, ended).toBe(
        `${base}-2`,
      );
    }
    // Every attempt ended without success: refused, with what to do.
    for (let i = 1; i <= 20; i++) statuses.set(i === 1 ? base : `${base}-${i}`, "failed");
    await expect(startViewerMigration(starter, history, request(), NOW)).rejects.toThrow(
      `viewer migration ${base} has failed 20 attempts; investigate before retrying`,
    );
  });
});
