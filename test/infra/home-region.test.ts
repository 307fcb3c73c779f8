/**
 * The home region: where the service (and so the rotation workflow, a Lambda durable function) is deployed.
 * `sst deploy` goes through sst.config.ts: app() picks the region, run() loads infra/settings.ts first, which
 * refuses a region where AWS does not document durable functions before any resource is declared — unless
 * the deployer sets MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION=1. ACM and CloudFront stay in us-east-1.
 */
import { describe, expect, it } from "vitest";
import {
  ACCOUNT,
  AUTHORITY_ARN,
  importInfra,
  isolateStubs,
  loadInfra,
  loadSstConfig,
  type Statement,
  stageSst,
} from "../support/sst-infra.ts";

isolateStubs();

/** Runs `sst deploy`'s program as SST would: app() for the stage, then run() against the stand-ins. */
async function deploy(stage: string, env: Record<string, string>) {
  // The shell's variables first (app() reads MTLS_ROTATOR_REGION), then the stand-ins in app()'s region.
  stageSst(stage, env);
  const config = await loadSstConfig();
  const region = config.app({ stage }).providers.aws.region;
  const declared = stageSst(stage, env, region);
  const program = await loadSstConfig();
  return { region, declared, run: () => program.run() };
}

describe("the home region", () => {
  it("defaults to a region where AWS documents Lambda durable functions, in sst.config.ts and settings alike", async () => {
    const { region, declared, run } = await deploy("production", {});
    const outputs = await run();
    const settings = await importInfra("settings");
    expect(settings.DURABLE_FUNCTION_REGIONS).toContain(settings.DEFAULT_HOME_REGION);
    expect(settings.DEFAULT_HOME_REGION).toBe("us-east-2");
    expect(region).toBe(settings.DEFAULT_HOME_REGION);
    expect(outputs.rotationWorkflow).toBe("mtls-rotator-production-RotationWorkflowHandler");
    expect(outputs.viewerMigrationWorkflow).toBe("mtls-rotator-production-ViewerMigrationWorkflowHandler");
    const workflows = declared.filter((d) => d.type === "sst:aws:Workflow").map((d) => d.name);
    expect(workflows.sort()).toEqual(["RotationWorkflow", "ViewerMigrationWorkflow"]);
    // Both workflows' roles exist before the credentials key's policy names them.
    expect(declared.filter((d) => d.type === "aws:kms:KeyPolicy").map((d) => d.name)).toEqual([
      "CredentialsKeyPolicy",
    ]);
    const deployed = settings.settingsFor("production", { MTLS_ROTATOR_AUTHORITY_ARN: AUTHORITY_ARN });
    expect(deployed.region).toBe("us-east-2");
  });

  it("refuses an undocumented region before any resource is declared, naming it and the documented ones", async () => {
    const { region, declared, run } = await deploy("production", { MTLS_ROTATOR_REGION: "us-east-1" });
    expect(region).toBe("us-east-1");
    await expect(run()).rejects.toThrow(
      'mtls-rotator settings for stage "production" are invalid (infra/settings.ts):\n' +
        "  - home region us-east-1 (MTLS_ROTATOR_REGION): the rotation workflow is a Lambda durable function," +
        " and AWS's documentation checked for this project names durable functions only in us-east-2" +
        " (functions/config/stage.ts DURABLE_FUNCTION_REGIONS). Deploy to us-east-2, or confirm on AWS's Capabilities" +
        " by Region page that durable functions exist in us-east-1 and set" +
        " MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION=1 (ACM certificates and CloudFront stay in us-east-1 either way)",
    );
    expect(declared).toEqual([]);

    for (const other of ["eu-west-1", "ap-southeast-2", "us-gov-west-1"]) {
      const attempt = await deploy("staging", { MTLS_ROTATOR_REGION: other });
      await expect(attempt.run(), other).rejects.toThrow(`home region ${other} (MTLS_ROTATOR_REGION)`);
      expect(attempt.declared, other).toEqual([]);
    }
  });

  it("deploys to an unlisted region only when MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION=1", async () => {
    const allowed = await deploy("production", {
      MTLS_ROTATOR_REGION: "eu-west-1",
      MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION: "1",
    });
    expect(allowed.region).toBe("eu-west-1");
    await allowed.run();
    expect(allowed.declared.filter((d) => d.type === "sst:aws:Workflow")).toHaveLength(2);

    // Anything but 1 is a mistake, not a yes (nor a silent no).
    for (const value of ["true", "yes", "0"]) {
      const attempt = await deploy("production", {
        MTLS_ROTATOR_REGION: "eu-west-1",
        MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION: value,
      });
      await expect(attempt.run(), value).rejects.toThrow(
        `MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION must be 1 (or unset), got ${JSON.stringify(value)}`,
      );
      expect(attempt.declared).toEqual([]);
    }
    // The override is not a way to deploy to a region that does not exist.
    const typo = await deploy("production", {
      MTLS_ROTATOR_REGION: "us-east1",
      MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION: "1",
    });
    await expect(typo.run()).rejects.toThrow(
      'home region "us-east1" (MTLS_ROTATOR_REGION) is not an AWS region name',
    );
  });

  it("keeps ACM, CloudFront and their events in us-east-1 when the home region is elsewhere", async () => {
    const { declared, permissions, scanPermissions, apiPermissions } = await loadInfra("production");
    const all: Statement[] = [...permissions, ...scanPermissions, ...Object.values(apiPermissions).flat()];
    const acm = all.filter((s) => s.actions.some((a) => a.startsWith("acm:")) && !s.resources.includes("*"));
    expect(acm.length).toBeGreaterThan(0);
    for (const statement of acm)
      for (const resource of statement.resources)
        expect(resource).toMatch(new RegExp(`^arn:aws:acm:us-east-1:${ACCOUNT}:certificate/`));
    // ACM's expiry events are emitted in us-east-1 and forwarded to the home region's default bus.
    const provider = declared.find((d) => d.type === "pulumi:providers:aws");
    expect(provider?.args).toEqual({ region: "us-east-1" });
    const forward = declared.find((d) => d.name === "AcmExpiryForwardTarget");
    expect(forward?.args.arn).toBe(`arn:aws:events:us-east-2:${ACCOUNT}:event-bus/default`);
  });
});
