/**
 * The sandbox's dry run is the product's: planRotation over the deps the API's wiring builds, answering what
 * `POST /rotations` with `dryRun: true` answers. It changes nothing: DynamoDB reads only (which rotation changes
 * each planned distribution; no rotation item, no lock, no claim), no SNS message, no durable execution, and
 * only read calls to the AWS stand-ins
 * between the world being ready and its teardown. Node TLS origins: nothing needs to be installed.
 */
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { expect, it } from "vitest";
import { requestRotation } from "../../functions/api/rotations.ts";
import { StartRotationBody } from "../../functions/api/schemas.ts";
import { rotationRoutesDepsFrom, rotationsApiConfig } from "../../functions/wiring/api-rotations.ts";
import { trustTargetsFrom } from "../../functions/wiring/trust-targets.ts";
import { expectedDurationSeconds } from "../../functions/workflow/plan.ts";
import { SANDBOX_RESOURCES, type SandboxFleet } from "../../sandbox/fleet.ts";
import { runSandbox } from "../../sandbox/runner.ts";
import { parseScenario } from "../../sandbox/scenario.ts";
import { DYNAMODB_STANDIN_CREDENTIALS } from "../../standins/dynamodb.ts";

const scenario = parseScenario({
  name: "dry-run-only",
  authority: { name: "Dry Run CA", keyType: "RSA_2048" },
  certificates: [{ name: "edge", keyType: "RSA_2048", expiresInDays: 10, validityDays: 90 }],
  distributions: [
    { name: "shop", origins: [{ name: "api", certificate: "edge" }] },
    {
      name: "blog",
      origins: [
        { name: "web", certificate: "edge" },
        { name: "static", certificate: "edge" },
      ],
    },
    { name: "media", origins: [{ name: "assets", certificate: "edge" }] },
    { name: "docs", origins: [{ name: "plain" }] },
  ],
  policy: { waves: { canarySize: 1, waves: [{ count: 2 }], canaryPreference: ["shop"] }, bakeSeconds: 1 },
  actions: [{ action: "dryRun", certificate: "edge" }],
  expect: {
    dryRuns: [{ certificate: "edge", waves: [["shop"], ["media", "blog"]] }],
    rotationCount: 0,
    issuedCertificates: 0,
    awsCalls: {
      "acm:GetCertificate": 1,
      "acm-pca:GetCertificateAuthorityCertificate": 1,
      "cloudfront:ListDistributions": 1,
      "sns:Publish": 0,
    },
  },
});

interface Snapshot {
  items: string[];
  dynamoCalls: Record<string, number>;
  calls: Record<string, number>;
  originSync: Record<string, number>;
  snsMessages: number;
}

async function tableItems(world: SandboxFleet): Promise<string[]> {
  const client = new DynamoDBClient({
    region: "us-east-1",
    endpoint: world.dynamo.endpoint,
    credentials: DYNAMODB_STANDIN_CREDENTIALS,
  });
  const items: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: SANDBOX_RESOURCES.table, ExclusiveStartKey: start as never }),
    );
    for (const item of page.Items ?? []) items.push(JSON.stringify(item));
    start = page.LastEvaluatedKey;
  } while (start);
  client.destroy();
  return items.sort();
}

async function snapshot(world: SandboxFleet): Promise<Snapshot> {
  return {
    items: await tableItems(world),
    dynamoCalls: { ...world.dynamoCalls },
    calls: world.standins.server.callsByOperation(),
    originSync: { ...world.originSyncCalls },
    snsMessages: world.standins.sns.messages(world.topicArn).length,
  };
}

/** after - before, operations that did not change left out. */
function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after).flatMap(([op, n]) =>
      n - (before[op] ?? 0) > 0 ? [[op, n - (before[op] ?? 0)]] : [],
    ),
  );
}

it("a dry run answers the API's plan and changes nothing", async () => {
  let before: Snapshot | undefined;
  let after: Snapshot | undefined;
  let world: SandboxFleet | undefined;
  let apiAnswer: unknown;
  const output: string[] = [];
  const run = await runSandbox({
    scenario,
    origins: "node",
    write: (line) => output.push(line),
    inspect: async (stage, fleet) => {
      world = fleet;
      if (stage === "ready") {
        before = await snapshot(fleet);
        return;
      }
      after = await snapshot(fleet);
      // What an operator gets from the API for the same certificate, asked after the run (read-only too).
      const deps = rotationRoutesDepsFrom(rotationsApiConfig(fleet.wiring), {
        aws: fleet.clients,
        // The plan reads which rotation changes each distribution (distribution claims): reads only.
        dynamo: new DynamoDBClient({
          region: "us-east-1",
          endpoint: fleet.dynamo.endpoint,
          credentials: DYNAMODB_STANDIN_CREDENTIALS,
        }),
        starter: { start: () => Promise.reject(new Error("a dry run must not start anything")) },
        callbacks: { succeed: () => Promise.reject(new Error("a dry run must not deliver anything")) },
      });
      const body = StartRotationBody.parse({
        certificateArn: fleet.certificates.get("edge")!.arn,
        dryRun: true,
      });
      apiAnswer = await requestRotation(deps, body, "sandbox-operator");
    },
  });
  if (!run.passed) console.log(run.lines.join("\n"));
  expect(run.exitCode).toBe(0);
  const { report } = run;

  // Nothing changed between the world being ready and its teardown.
  expect(before && after && world).toBeTruthy();
  expect(after!.items).toEqual(before!.items);
  expect(after!.items.filter((item) => item.includes('"LOCK"') || item.includes('"ROT#'))).toEqual([]);
  // The counter sees the sandbox's DynamoDB requests (the setup's); the dry runs' are reads only: which
  // rotation changes each planned distribution (one GetItem of its claim each; none is claimed, so no lock
  // is read), for the plan's waitsFor. Nothing is written.
  expect(before!.dynamoCalls["dynamodb:CreateTable"]).toBe(1);
  const planned = new Set(
    report.dryRuns.flatMap((d) => d.plan.waves.flatMap((w) => w.distributions.map((x) => x.distributionId))),
  ).size;
  expect(planned).toBeGreaterThan(0);
  expect(diff(after!.dynamoCalls, before!.dynamoCalls)).toEqual({ "dynamodb:GetItem": planned });
  expect(after!.snsMessages).toBe(0);
  expect(report.notifications).toEqual([]);
  expect(report.rotations).toEqual([]);
  expect(run.lines.filter((l) => /durable execution|started: |notify: /.test(l))).toEqual([]);
  // Only reads reached the stand-ins: the plan's (ACM, the CA's own certificate, CloudFront) and the
  // origins' polls of the bundle.
  const calls = diff(after!.calls, before!.calls);
  for (const operation of Object.keys(calls))
    expect(operation).toMatch(/^[a-z0-9-]+:(Get|List|Describe|Head)/);
  const planReads = {
    "acm:GetCertificate": 1,
    "acm-pca:GetCertificateAuthorityCertificate": 1,
    "cloudfront:ListDistributions": 1,
  };
  expect(diff(calls, diff(after!.originSync, before!.originSync))).toEqual(planReads);
  expect(report.awsCalls).toEqual(planReads);
  expect(world!.standins.privateCa.issuedCount).toBe(0);

  // The plan: the API's answer, with names for the scenario's distributions.
  expect(report.dryRuns).toHaveLength(1);
  const [dry] = report.dryRuns;
  expect(apiAnswer).toEqual({ status: 200, body: { dryRun: true, plan: dry!.plan } });
  const edge = report.certificates[0]!;
  const [authority] = report.authorities;
  expect(dry).toMatchObject({ certificate: "edge", actor: "sandbox-operator", issuer: "authority" });
  expect(dry!.waves.map((w) => [w.index, w.canary, [...w.distributions].sort()])).toEqual([
    [0, true, ["shop"]],
    [1, false, ["blog", "media"]],
  ]);
  const blogId = report.distributions.find((d) => d.name === "blog")!.id;
  expect(dry!.plan).toMatchObject({
    certificateArn: edge.initialArn,
    serial: edge.serial,
    keyAlgorithm: "RSA_2048",
    replacementKey: {
      reason: "SameAsCa",
      caKeyAlgorithm: "RSA_2048",
      inServiceKeyAlgorithm: "RSA_2048",
      message: "RSA_2048 (follows CA key RSA_2048; unchanged)",
    },
    issuer: { authorityArn: authority!.arn },
    trustTargets: trustTargetsFrom(world!.config, world!.clients).map((t) => t.name),
    expectedDurationSeconds: expectedDurationSeconds(world!.config.settings, 2),
  });
  expect(dry!.plan.trustTargets).toEqual([
    `s3://${SANDBOX_RESOURCES.bucket}/${SANDBOX_RESOURCES.bundleKey}`,
    `secretsmanager:${SANDBOX_RESOURCES.bundleSecretName}`,
  ]);
  const blog = dry!.plan.waves[1]!.distributions.find((d) => d.distributionId === blogId);
  expect([...(blog?.originIds ?? [])].sort()).toEqual(["static", "web"]);
  expect(report.expectations.find((e) => e.name === "dry run of edge")).toMatchObject({ passed: true });

  // The progress output shows the plan readably.
  const text = run.lines.join("\n");
  expect(text).toMatch(/dry run edge: plan \(read-only, .*\): 3 distribution\(s\) in 2 wave\(s\)/);
  expect(text).toContain(
    `dry run edge:   replacement: RSA_2048 (follows CA key RSA_2048; unchanged), issued by authority (CN=Dry Run CA, O=mtls-rotator sandbox) ${authority!.arn}`,
  );
  expect(text).toContain(
    `dry run edge:   trust bundle published first to: ${dry!.plan.trustTargets.join(", ")}`,
  );
  expect(text).toContain("dry run edge:   canary wave 0: shop (api)");
  const blogLine = /blog \((web, static|static, web)\)/.source;
  expect(text).toMatch(
    new RegExp(
      `dry run edge: {3}wave 1: (${blogLine}, media \\(assets\\)|media \\(assets\\), ${blogLine})\n`,
    ),
  );
  expect(text).toMatch(
    /dry run edge: {3}expected duration \(.*\): typical \d+ min( \d+ s)?, worst case \d+ min( \d+ s)?/,
  );
  // The summary (printed in quiet mode too) names it.
  expect(text).toMatch(
    /dry run edge: plan of 3 distribution\(s\) in 2 wave\(s\) \(canary wave 0: shop; wave 1: /,
  );
}, 60_000);
