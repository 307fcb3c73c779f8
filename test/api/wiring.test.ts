/**
 * The API's wiring: each use-case reads only its own links, every missing or malformed one is named at
 * once, and a function whose configuration is broken answers 500 without saying why (the log does).
 */
import { describe, expect, it } from "vitest";
import { WiringError } from "../../functions/config/links.ts";
import { startScanHandler } from "../../functions/handlers/api/start-scan.ts";
import { controlDepsFrom } from "../../functions/wiring/api-control.ts";
import {
  certificatesDepsFrom,
  rotationReadDepsFrom,
  tableApiConfig,
} from "../../functions/wiring/api-reads.ts";
import { rotationRoutesDepsFrom, rotationsApiConfig } from "../../functions/wiring/api-rotations.ts";
import { scanApiConfig, scanApiDepsFrom } from "../../functions/wiring/api-scan.ts";
import { apiEvent, invoke } from "../support/api-events.ts";

const ACCOUNT = "123456789012";
const AUTHORITY = `arn:aws:acm-pca:eu-west-1:${ACCOUNT}:certificate-authority/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c`;
const ENV = { AWS_REGION: "eu-west-1" };

function linked(overrides: Record<string, unknown> = {}) {
  return {
    RotationTable: { name: "mtls-rotator-production-RotationsTable" },
    TrustBundleBucket: { name: "mtls-rotator-production-trustbundles" },
    RotationWorkflowStarter: { name: "mtls-rotator-production-RotationWorkflow", qualifier: "7" },
    RotationSettings: {
      rotation: { authorityArn: AUTHORITY, bakeSeconds: 600 },
      trust: {
        bucketKey: "trust/origin-client-ca.pem",
        bundleSecretName: "mtls-rotator/trust/origin-client-ca",
      },
      credentialsKeyArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/11111111-2222-4333-8444-555555555555`,
      workflowRoleArn: `arn:aws:iam::${ACCOUNT}:role/mtls-rotator-test-RotationWorkflowRole`,
    },
    ScanFunction: { name: "mtls-rotator-production-ScanFunction" },
    ...overrides,
  };
}

function wiringProblems(read: () => unknown): string[] {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(WiringError);
    return (error as WiringError).problems;
  }
  throw new Error("expected a WiringError");
}

describe("the routes that need the table only (certificates, reading rotations, decisions)", () => {
  it("reads the table name and the region", () => {
    expect(tableApiConfig({ resource: linked(), env: ENV })).toEqual({
      region: "eu-west-1",
      tableName: "mtls-rotator-production-RotationsTable",
    });
  });

  it("needs nothing but the table (infra/api.ts links nothing else to them)", () => {
    const only = { RotationTable: { name: "rotations" } };
    const config = tableApiConfig({ resource: only, env: ENV });
    expect(config.tableName).toBe("rotations");
    expect(Object.keys(certificatesDepsFrom(config))).toEqual(["inventory", "now"]);
    expect(Object.keys(rotationReadDepsFrom(config))).toEqual(["store"]);
    expect(Object.keys(controlDepsFrom(config))).toEqual(["store", "callbacks", "rollbackRequests", "now"]);
  });

  it("names a missing table", () => {
    expect(wiringProblems(() => tableApiConfig({ resource: {}, env: ENV }))).toEqual([
      "linked resource RotationTable is missing (link it to the function in infra/)",
    ]);
  });
});

describe("rotations", () => {
  it("reads settings, trust targets and the workflow; names the trust targets the plan shows", () => {
    const config = rotationsApiConfig({
      resource: linked(),
      env: { ...ENV, MTLS_ROTATOR_AWS_ENDPOINT: "http://127.0.0.1:4566" },
    });
    expect(config).toMatchObject({
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:4566",
      dynamodbEndpoint: "http://127.0.0.1:4566",
      tableName: "mtls-rotator-production-RotationsTable",
      bucketName: "mtls-rotator-production-trustbundles",
      workflow: { name: "mtls-rotator-production-RotationWorkflow", qualifier: "7" },
    });
    expect(config.settings.bakeSeconds).toBe(600);
    expect(config.settings.authorityArn).toBe(AUTHORITY);
    const deps = rotationRoutesDepsFrom(config);
    expect(deps.trustTargets.map((t) => t.name)).toEqual([
      "s3://mtls-rotator-production-trustbundles/trust/origin-client-ca.pem",
      "secretsmanager:mtls-rotator/trust/origin-client-ca",
    ]);
  });

  it("names every missing or malformed setting at once", () => {
    const problems = wiringProblems(() =>
      rotationsApiConfig({
        resource: linked({
          RotationWorkflowStarter: { name: "has spaces" },
          RotationSettings: { rotation: { authorityArn: "nope" } },
          TrustBundleBucket: undefined,
        }),
        env: {},
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        "environment variable AWS_REGION is missing",
        expect.stringContaining("TrustBundleBucket"),
        'RotationWorkflowStarter.name must be a Lambda function name, got "has spaces"',
        "RotationWorkflowStarter.qualifier is missing",
        "RotationSettings.trust is missing",
        'RotationSettings.rotation.authorityArn must be a Private CA ARN, got "nope"',
      ]),
    );
  });
});

describe("scan", () => {
  it("reads the scan function's name", () => {
    expect(scanApiConfig({ resource: linked(), env: ENV })).toEqual({
      region: "eu-west-1",
      functionName: "mtls-rotator-production-ScanFunction",
    });
  });

  it("a function whose wiring is broken answers 500 InternalError and logs the problems", async () => {
    const lines: Array<Record<string, unknown> | undefined> = [];
    const handler = startScanHandler(async () => scanApiDepsFrom(scanApiConfig({ resource: {}, env: ENV })), {
      log: (_level, _message, data) => lines.push(data),
    });
    const answer = await invoke(handler, apiEvent("POST /scan"));
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({
      error: { code: "InternalError", message: "internal error; the request was logged" },
    });
    expect(answer.raw).not.toContain("ScanFunction");
    expect(JSON.stringify(lines)).toContain("linked resource ScanFunction is missing");
  });
});
