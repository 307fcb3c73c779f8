/**
 * The rotation routes' Lambda entries, fed payload-2.0 events, with their deployed wiring (rotationsApiConfig
 * from linked resources and the environment) pointed at the AWS stand-ins and dynalite: a certificate in
 * ACM presented by three distributions, the real rotation store. The workflow starter records what it is
 * asked to start; rollback and approval deliveries are recorded by a sender. (Whole rotations driven through
 * the API on the durable runner: control.test.ts.)
 *
 * Bad input never yields a 5xx and never changes anything: every rejected request is checked against the
 * table's items, the stand-ins' calls and the starter's and sender's records.
 */
import { X509Certificate } from "node:crypto";
import { CreateDistributionCommand } from "@aws-sdk/client-cloudfront";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { AcmAdapter } from "../../../functions/adapters/acm.ts";
import { RotationPages } from "../../../functions/adapters/rotation-pages.ts";
import { RotationStore } from "../../../functions/adapters/rotation-store.ts";
import {
  ControlAnswer,
  DryRunAnswer,
  RotationAnswer,
  RotationListAnswer,
  RotationStartedAnswer,
} from "../../../functions/api/answers.ts";
import type { RotationRoutesDeps } from "../../../functions/api/rotations.ts";
import {
  applyEvent,
  initialState,
  type RotationEvent,
  type RotationState,
} from "../../../functions/core/rotation.ts";
import type { CallbackSender } from "../../../functions/dispatch/control-rotation.ts";
import {
  type ExecutionStatus,
  executionNameFor,
  ROTATION_ID,
} from "../../../functions/dispatch/start-rotation.ts";
import { approveRotationHandler } from "../../../functions/handlers/api/approve-rotation.ts";
import { getRotationHandler } from "../../../functions/handlers/api/get-rotation.ts";
import { listRotationsHandler } from "../../../functions/handlers/api/list-rotations.ts";
import { rollbackRotationHandler } from "../../../functions/handlers/api/rollback-rotation.ts";
import { startRotationHandler } from "../../../functions/handlers/api/start-rotation.ts";
import { rotationRoutesDepsFrom, rotationsApiConfig } from "../../../functions/wiring/api-rotations.ts";
import { expectedDurationSeconds } from "../../../functions/workflow/plan.ts";
import type { RotationInput } from "../../../functions/workflow/rotation-workflow.ts";
import { localWorkflowStarter } from "../../../standins/durable.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../../standins/dynamodb.ts";
import { type Standins, startStandins } from "../../../standins/index.ts";
import { createRootCa, createSubordinateCa, EKU, issueClientCredential } from "../../../standins/pki.ts";
import { type ApiEventOptions, apiEvent, invoke, PRINCIPAL, ROLE_SESSION } from "../../support/api-events.ts";
import { strictly } from "../../support/contract.ts";
import { buildDistributionConfig } from "../../support/distribution-config.ts";
import { expectNoKeyMaterial } from "../../support/key-material.ts";
import { UNCHANGED_EC_KEY } from "../../support/replacement-key.ts";

const DAY = 86_400_000;
const TABLE = "mtls-rotator-api-rotations";
const BUCKET = "mtls-rotator-trust";
const quiet = { log: () => undefined };

let standins: Standins;
let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
let client: ReturnType<typeof dynamoDbClient>;
let store: RotationStore;
let authorityArn: string;
let issuingCa: Awaited<ReturnType<typeof createSubordinateCa>>;
let certificateArn: string;
let serial: string;
let privateKeyPem: string;
let distributionIds: string[];

beforeAll(async () => {
  standins = await startStandins({ deployDelayMs: 0 });
  dynamo = await startDynamoDb();
  client = dynamoDbClient(dynamo.endpoint);
  await createRotationTable(client, TABLE);
  store = new RotationStore(client, { tableName: TABLE });

  // An RSA CA: its RSA-2048 certificates import into ACM, and a replacement follows its key (RSA_2048).
  const root = await createRootCa({ name: "CN=Acme Root CA, O=Acme", keyAlgorithm: "RSA_2048" });
  const issuer = await createSubordinateCa(root, { name: "CN=Acme Origin Client CA 1, O=Acme" });
  issuingCa = issuer;
  authorityArn = standins.privateCa.addAuthority(issuer);
  const credential = await issueClientCredential(issuer, {
    subject: "CN=cloudfront-to-origin, O=Acme",
    keyAlgorithm: "RSA_2048",
    notBefore: new Date(Date.now() - 80 * DAY),
    notAfter: new Date(Date.now() + 10 * DAY),
  });
  privateKeyPem = credential.privateKeyPem;
  serial = new X509Certificate(credential.certificatePem).serialNumber.toLowerCase();
  certificateArn = await new AcmAdapter(standins.clients().acm).importCertificate({
    ...credential,
    lineage: { rotationId: "initial", credential: "initial" },
  });
  distributionIds = [];
  for (let i = 0; i < 3; i += 1) {
    const created = await standins.clients().cloudfront.send(
      new CreateDistributionCommand({
        DistributionConfig: buildDistributionConfig({
          origins: 1,
          mtlsArns: [certificateArn],
          comment: `d${i}`,
        }),
      }),
    );
    distributionIds.push(created.Distribution!.Id!);
  }
  distributionIds.sort();
});

afterAll(async () => {
  await standins?.close();
  await dynamo?.close();
});

/** The deployed wiring over the stand-ins; a recording starter and callback sender. */
function fixture() {
  const starts: RotationInput[] = [];
  const starter = localWorkflowStarter(() => ({
    run: async ({ payload }) => {
      starts.push(payload);
      return undefined;
    },
  }));
  const delivered: Array<{ callbackId: string; result: string }> = [];
  const callbacks: CallbackSender = {
    succeed: async (callbackId, result) => {
      delivered.push({ callbackId, result });
    },
  };
  const config = rotationsApiConfig({
    resource: {
      RotationTable: { name: TABLE },
      TrustBundleBucket: { name: BUCKET },
      RotationWorkflowStarter: { name: "mtls-rotator-test-RotationWorkflow", qualifier: "1" },
      RotationSettings: {
        rotation: { authorityArn, waves: { canarySize: 1, waves: [{ count: 1 }] }, bakeSeconds: 300 },
        trust: {
          bucketKey: "trust/origin-client-ca.pem",
          bundleSecretName: "mtls-rotator/trust/origin-client-ca",
        },
        // Linked with the workflow's settings (infra/rotation.ts); the API does not use it.
        credentialsKeyArn: "arn:aws:kms:us-east-1:111122223333:key/0c3d1f0e-1a2b-4c5d-8e9f-0a1b2c3d4e5f",
        workflowRoleArn: "arn:aws:iam::111122223333:role/mtls-rotator-test-RotationWorkflowRole",
      },
    },
    env: {
      AWS_REGION: "us-east-1",
      MTLS_ROTATOR_AWS_ENDPOINT: standins.endpoint,
      MTLS_ROTATOR_DYNAMODB_ENDPOINT: dynamo.endpoint,
    },
  });
  const deps: RotationRoutesDeps = rotationRoutesDepsFrom(config, {
    aws: standins.clients(),
    dynamo: client,
    starter,
    callbacks,
  });
  // Every execution's run is queued on the microtask queue: let them record before looking.
  const settled = () => Promise.all(starter.executions().map((e) => e.done));
  return { deps, config, starts, settled, delivered };
}

async function tableItems(): Promise<string> {
  const out = await client.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }));
  return JSON.stringify((out.Items ?? []).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)));
}

/** Everything a rejected request must leave as it was. */
async function snapshot(f: ReturnType<typeof fixture>) {
  return {
    items: await tableItems(),
    calls: standins.server.calls.length,
    starts: f.starts.length,
    delivered: f.delivered.length,
  };
}

async function expectUnchanged(f: ReturnType<typeof fixture>, before: Awaited<ReturnType<typeof snapshot>>) {
  await f.settled();
  expect(await snapshot(f)).toEqual(before);
}

const start = (f: ReturnType<typeof fixture>, options: ApiEventOptions) =>
  invoke(
    startRotationHandler(async () => f.deps, quiet),
    apiEvent("POST /rotations", options),
  );

describe("POST /rotations", () => {
  let f: ReturnType<typeof fixture>;
  beforeEach(() => {
    f = fixture();
  });

  it("starts a rotation of the certificate in service: serial from ACM, the caller as actor", async () => {
    const answer = await start(f, { body: { certificateArn } });
    await f.settled();

    expect(answer.status).toBe(202);
    z.parse(strictly(RotationStartedAnswer), answer.body);
    const rotationId = executionNameFor({ certificateArn, serial });
    expect(answer.body).toEqual({ rotationId, started: true, status: "started" });
    expect(rotationId).toMatch(ROTATION_ID);
    expect(f.starts).toEqual([
      { rotationId, certificateArn, serial, reason: "manual rotation via API", actor: PRINCIPAL },
    ]);
  });

  it("passes the reason and the overrides (waves, bake window, approval) to the rotation", async () => {
    const answer = await start(f, {
      principal: ROLE_SESSION,
      body: {
        certificateArn,
        reason: "key compromise drill",
        waves: { canarySize: 2, waves: [{ percent: 100 }] },
        bakeSeconds: 0,
        approval: "between-waves",
      },
    });
    await f.settled();
    expect(answer.status).toBe(202);
    expect(f.starts).toEqual([
      {
        rotationId: answer.body.rotationId,
        certificateArn,
        serial,
        reason: "key compromise drill",
        actor: ROLE_SESSION,
        overrides: {
          waves: { canarySize: 2, waves: [{ percent: 100 }] },
          bakeSeconds: 0,
          approval: "between-waves",
        },
      },
    ]);
  });

  it("a retry converges on the rotation already started", async () => {
    const first = await start(f, { body: { certificateArn } });
    const second = await start(f, { body: { certificateArn, reason: "again" } });
    await f.settled();
    expect(second.status).toBe(202);
    expect(second.body).toEqual({ rotationId: first.body.rotationId, started: false, status: "started" });
    expect(f.starts).toHaveLength(1);
  });

  /** The fixture's deps with Lambda saying `held`'s execution is `status`. */
  const withExecution = (held: string, status: ExecutionStatus) => ({
    ...f.deps,
    starter: {
      ...f.deps.starter,
      status: async (name: string) => (name === held ? status : f.deps.starter.status?.(name)),
    },
  });

  it("answers 409 with the rotation id when the certificate has a rotation running", async () => {
    const held = "rot-0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c-aaaaaaaaaaaaaaaa";
    await store.acquireLock(certificateArn, held);
    try {
      const before = await snapshot(f);
      const answer = await invoke(
        startRotationHandler(async () => withExecution(held, "RUNNING"), quiet),
        apiEvent("POST /rotations", { body: { certificateArn } }),
      );
      expect(answer.status).toBe(409);
      expect(answer.body.error).toMatchObject({ code: "Conflict", rotationId: held });
      expect(answer.body.error.message).toContain(held);
      await f.settled();
      expect(f.starts).toEqual([]);
      expect(await tableItems()).toBe(before.items);
    } finally {
      await store.releaseLock(certificateArn, held);
    }
  });

  it("a lock held by a rotation whose execution died (FAILED) is released, and the rotation starts", async () => {
    const dead = "rot-0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c-bbbbbbbbbbbbbbbb";
    await store.acquireLock(certificateArn, dead);
    try {
      const answer = await invoke(
        startRotationHandler(async () => withExecution(dead, "FAILED"), quiet),
        apiEvent("POST /rotations", { body: { certificateArn } }),
      );
      expect(answer.status).toBe(202);
      await f.settled();
      expect(f.starts.map((s) => s.rotationId)).toEqual([answer.body.rotationId]);
      expect(await store.activeRotationFor(certificateArn)).toBeUndefined();
    } finally {
      await store.releaseLock(certificateArn, dead);
    }
  });

  it("refuses overrides a rotation could outlast its execution with, naming them, and changes nothing", async () => {
    const limited: RotationRoutesDeps = {
      ...f.deps,
      settings: { ...f.deps.settings, maxRotationSeconds: 2 * 86_400 },
    };
    const before = await snapshot(f);
    const answer = await invoke(
      startRotationHandler(async () => limited, quiet),
      apiEvent("POST /rotations", {
        body: { certificateArn, bakeSeconds: 86_400, approval: "between-waves" },
      }),
    );
    expect(answer.status).toBe(400);
    const problems = (answer.body as { error: { problems: Array<{ field: string; message: string }> } }).error
      .problems;
    expect(problems.map((p) => p.field)).toEqual(["bakeSeconds", "approval"]);
    expect(problems[0]!.message).toMatch(/longer than the workflow's execution timeout \(2\.0 days\)/);
    await expectUnchanged(f, before);
    // Within the bound: accepted as before.
    const fine = await invoke(
      startRotationHandler(async () => limited, quiet),
      apiEvent("POST /rotations", { body: { certificateArn, bakeSeconds: 60, dryRun: true } }),
    );
    expect(fine.status).toBe(200);
  });

  it.each([
    ["AccessDeniedException", 404, "NotFound"],
    ["RequestInProgressException", 409, "Conflict"],
  ] as const)("ACM answering %s is a %i, not a 500", async (errorName, status, code) => {
    const failing: RotationRoutesDeps = {
      ...f.deps,
      acm: {
        ...f.deps.acm,
        getCertificate: async () => {
          throw Object.assign(new Error(errorName), { name: errorName });
        },
      },
    };
    for (const dryRun of [true, false]) {
      const answer = await invoke(
        startRotationHandler(async () => failing, quiet),
        apiEvent("POST /rotations", { body: { certificateArn, dryRun } }),
      );
      expect(answer.status).toBe(status);
      expect((answer.body as { error: { code: string } }).error.code).toBe(code);
    }
  });

  it("a dry run for a CA whose key no certificate CloudFront presents could share is a 409 saying why", async () => {
    // An ML-DSA (or unreadable) CA: ACM imports only a certificate of its CA's key type, and CloudFront
    // presents RSA_2048 or EC_prime256v1 only, so a rotation would fail at its plan.
    const pqCa: RotationRoutesDeps = {
      ...f.deps,
      privateCa: {
        authorityChainPem: async () => "-----BEGIN CERTIFICATE-----\nbWxkc2E=\n-----END CERTIFICATE-----\n",
      },
    };
    const before = await snapshot(f);
    const answer = await invoke(
      startRotationHandler(async () => pqCa, quiet),
      apiEvent("POST /rotations", { body: { certificateArn, dryRun: true } }),
    );
    expect(answer.status).toBe(409);
    expect((answer.body as { error: unknown }).error).toEqual({
      code: "Conflict",
      message:
        "no replacement key for CA key unreadable: ACM imports a certificate only with its signing CA's key " +
        "type (RSA or EC), and CloudFront presents RSA_2048 or EC_prime256v1 only",
    });
    await f.settled();
    expect(f.starts).toEqual([]);
    expect(await tableItems()).toBe(before.items);
  });

  it("answers 404 for a certificate ACM does not have, starting nothing", async () => {
    const unknown = certificateArn.replace(/[0-9a-f]{12}$/, "000000000000");
    const before = await snapshot(f);
    const answer = await start(f, { body: { certificateArn: unknown } });
    expect(answer.status).toBe(404);
    expect(answer.body.error).toEqual({
      code: "NotFound",
      message: `no certificate ${unknown} in ACM us-east-1 that this service can read`,
    });
    await f.settled();
    expect(f.starts).toEqual([]);
    expect(await tableItems()).toBe(before.items);
  });

  it("a dry run answers the plan and changes nothing: no execution, no lock, no store write, no write call", async () => {
    const before = await snapshot(f);
    const answer = await start(f, {
      body: { certificateArn, dryRun: true, waves: { canarySize: 2 }, approval: "between-waves" },
    });
    await f.settled();

    expect(answer.status).toBe(200);
    z.parse(strictly(DryRunAnswer), answer.body);
    expect(answer.body).toEqual({
      dryRun: true,
      plan: {
        certificateArn,
        serial,
        subject: "CN=cloudfront-to-origin, O=Acme",
        keyAlgorithm: "RSA_2048",
        replacementKey: {
          reason: "SameAsCa",
          caKeyAlgorithm: "RSA_2048",
          inServiceKeyAlgorithm: "RSA_2048",
          message: "RSA_2048 (follows CA key RSA_2048; unchanged)",
        },
        notAfter: expect.any(String),
        issuer: { authorityArn },
        trustTargets: [
          `s3://${BUCKET}/trust/origin-client-ca.pem`,
          "secretsmanager:mtls-rotator/trust/origin-client-ca",
        ],
        waves: [
          {
            index: 0,
            canary: true,
            distributions: distributionIds
              .slice(0, 2)
              .map((d) => ({ distributionId: d, originIds: ["origin-1"] })),
          },
          {
            index: 1,
            canary: false,
            distributions: [{ distributionId: distributionIds[2], originIds: ["origin-1"] }],
          },
        ],
        expectedDurationSeconds: expectedDurationSeconds(
          {
            ...f.config.settings,
            waves: { canarySize: 2, waves: [{ count: 1 }] },
            approval: { ...f.config.settings.approval, mode: "between-waves" },
          },
          2,
        ),
      },
    });
    expectNoKeyMaterial(answer.body, [privateKeyPem]);
    expect(f.starts).toEqual([]);
    expect(await tableItems()).toBe(before.items);
    expect(await store.activeRotationFor(certificateArn)).toBeUndefined();
    const calls = standins.server.calls.slice(before.calls);
    // Reads only: the certificate (managed check, then plan), the CA's certificate (its issuer name, read
    // once per container; and its key, which the replacement's follows), the distributions.
    expect([...new Set(calls.map((c) => c.operation))].sort()).toEqual([
      "GetCertificate",
      "GetCertificateAuthorityCertificate",
      "ListDistributions",
    ]);
  });

  it("refuses a certificate the service does not manage (another issuer), dry run or not, and changes nothing", async () => {
    const foreignCa = await createRootCa({ name: "CN=Someone Else CA, O=Other" });
    const foreign = await new AcmAdapter(standins.clients().acm).importCertificate({
      ...(await issueClientCredential(foreignCa, {
        subject: "CN=not-ours, O=Other",
        notBefore: new Date(Date.now() - DAY),
        notAfter: new Date(Date.now() + 30 * DAY),
      })),
      lineage: { rotationId: "elsewhere", credential: "elsewhere" },
    });
    const before = { items: await tableItems(), calls: standins.server.calls.length };
    for (const dryRun of [true, false]) {
      const answer = await start(f, { body: { certificateArn: foreign, dryRun } });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        error: {
          code: "ValidationError",
          problems: [
            {
              field: "certificateArn",
              // Not who issued it: anyone allowed POST /rotations would learn any certificate's issuer.
              message: "is not a certificate this service manages: no configured Private CA issued it",
            },
          ],
        },
      });
      expect(answer.raw).not.toMatch(/Someone Else|Other/);
    }
    expect(f.starts).toEqual([]);
    expect(await tableItems()).toBe(before.items);
    const writes = standins.server.calls
      .slice(before.calls)
      .filter((c) => !/^(Get|List|Describe)/.test(c.operation));
    expect(writes).toEqual([]);
  });

  it("refuses a certificate that carries the configured CA's name but not its signature (a look-alike CA), and changes nothing", async () => {
    // Same subject as the configured CA, another key: by name it would pass as managed.
    const lookalike = await createRootCa({
      name: issuingCa.certificate.subject,
      keyAlgorithm: "EC_prime256v1",
    });
    const certificate = await issueClientCredential(lookalike, {
      subject: "CN=impostor, O=Acme",
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 30 * DAY),
    });
    expect(new X509Certificate(certificate.certificatePem).issuer).toBe(
      new X509Certificate(issuingCa.certificatePem).subject,
    );
    const impostor = await new AcmAdapter(standins.clients().acm).importCertificate({
      ...certificate,
      lineage: { rotationId: "elsewhere", credential: "elsewhere" },
    });
    const before = { items: await tableItems(), calls: standins.server.calls.length };
    for (const dryRun of [true, false]) {
      const answer = await start(f, { body: { certificateArn: impostor, dryRun } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.problems).toEqual([
        {
          field: "certificateArn",
          message: "is not a certificate this service manages: no configured Private CA issued it",
        },
      ]);
    }
    expect(f.starts).toEqual([]);
    expect(await tableItems()).toBe(before.items);
  });

  it("refuses a certificate of the configured CA that is not a client certificate (no clientAuth EKU)", async () => {
    const serverOnly = await new AcmAdapter(standins.clients().acm).importCertificate({
      ...(await issueClientCredential(issuingCa, {
        subject: "CN=origin.example.com, O=Acme",
        keyAlgorithm: "RSA_2048",
        notBefore: new Date(Date.now() - DAY),
        notAfter: new Date(Date.now() + 30 * DAY),
        profile: { extendedKeyUsages: [EKU.serverAuth] },
      })),
      lineage: { rotationId: "elsewhere", credential: "elsewhere" },
    });
    const before = { items: await tableItems(), calls: standins.server.calls.length };
    for (const dryRun of [true, false]) {
      const answer = await start(f, { body: { certificateArn: serverOnly, dryRun } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.problems).toEqual([
        {
          field: "certificateArn",
          message: "is not a client certificate (no clientAuth extended key usage)",
        },
      ]);
    }
    expect(f.starts).toEqual([]);
    expect(await tableItems()).toBe(before.items);
  });

  it("refuses a managed certificate no distribution presents, dry run or not (409 saying why), and changes nothing", async () => {
    const presentedNowhere = await new AcmAdapter(standins.clients().acm).importCertificate({
      ...(await issueClientCredential(issuingCa, {
        subject: "CN=presented-nowhere, O=Acme",
        keyAlgorithm: "RSA_2048",
        notBefore: new Date(Date.now() - DAY),
        notAfter: new Date(Date.now() + 30 * DAY),
      })),
      lineage: { rotationId: "elsewhere", credential: "elsewhere" },
    });
    const before = await snapshot(f);
    for (const dryRun of [true, false]) {
      const answer = await start(f, { body: { certificateArn: presentedNowhere, dryRun } });
      expect(answer.status).toBe(409);
      expect(answer.body.error.code).toBe("Conflict");
      expect(answer.body.error.message).toMatch(
        /no CloudFront distribution presents .*: a rotation would swap nothing and then delete it/,
      );
    }
    await f.settled();
    expect(f.starts).toEqual([]);
    expect(await tableItems()).toBe(before.items);
    expect(standins.acm.arns()).toContain(presentedNowhere);
  });

  it("a dry run of a certificate ACM does not have is a 404", async () => {
    const unknown = certificateArn.replace(/[0-9a-f]{12}$/, "000000000000");
    const answer = await start(f, { body: { certificateArn: unknown, dryRun: true } });
    expect(answer.status).toBe(404);
  });

  const ARN = () => certificateArn;
  const badInput: Array<[string, () => ApiEventOptions, number, string[]]> = [
    ["malformed JSON", () => ({ body: '{"certificateArn":' }), 400, ["body"]],
    ["an empty body", () => ({}), 400, ["body"]],
    ["a JSON string", () => ({ body: JSON.stringify("arn") }), 400, ["body"]],
    ["a missing certificateArn", () => ({ body: { dryRun: true } }), 400, ["certificateArn"]],
    [
      "an ARN in another region",
      () => ({ body: { certificateArn: ARN().replace("us-east-1", "eu-west-1") } }),
      400,
      ["certificateArn"],
    ],
    [
      "a certificate id instead of an ARN",
      () => ({ body: { certificateArn: ARN().split("/").pop() } }),
      400,
      ["certificateArn"],
    ],
    [
      "an unknown field (misspelt dryRun)",
      () => ({ body: { certificateArn: ARN(), dryrun: true } }),
      400,
      ["dryrun"],
    ],
    [
      "the serial (the service reads it, not the caller)",
      () => ({ body: { certificateArn: ARN(), serial: "01" } }),
      400,
      ["serial"],
    ],
    ["dryRun as text", () => ({ body: { certificateArn: ARN(), dryRun: "true" } }), 400, ["dryRun"]],
    [
      "a canary of 0",
      () => ({ body: { certificateArn: ARN(), waves: { canarySize: 0 } } }),
      400,
      ["waves.canarySize"],
    ],
    [
      "a fractional canary",
      () => ({ body: { certificateArn: ARN(), waves: { canarySize: 1.5 } } }),
      400,
      ["waves.canarySize"],
    ],
    [
      "a percent over 100",
      () => ({ body: { certificateArn: ARN(), waves: { waves: [{ percent: 150 }] } } }),
      400,
      ["waves.waves[0].percent"],
    ],
    [
      "a percent of 0",
      () => ({ body: { certificateArn: ARN(), waves: { waves: [{ count: 1 }, { percent: 0 }] } } }),
      400,
      ["waves.waves[1].percent"],
    ],
    [
      "a count of 0",
      () => ({ body: { certificateArn: ARN(), waves: { waves: [{ count: 0 }] } } }),
      400,
      ["waves.waves[0].count"],
    ],
    [
      "an unknown wave field",
      () => ({ body: { certificateArn: ARN(), waves: { canary: 1 } } }),
      400,
      ["waves.canary"],
    ],
    ["negative bake", () => ({ body: { certificateArn: ARN(), bakeSeconds: -1 } }), 400, ["bakeSeconds"]],
    [
      "a bake over a day",
      () => ({ body: { certificateArn: ARN(), bakeSeconds: 86_401 } }),
      400,
      ["bakeSeconds"],
    ],
    [
      "an unknown approval mode",
      () => ({ body: { certificateArn: ARN(), approval: "always" } }),
      400,
      ["approval"],
    ],
    [
      "a reason over 512 characters",
      () => ({ body: { certificateArn: ARN(), reason: "r".repeat(513) } }),
      400,
      ["reason"],
    ],
    ["a blank reason", () => ({ body: { certificateArn: ARN(), reason: "   " } }), 400, ["reason"]],
    ["a reason with a newline", () => ({ body: { certificateArn: ARN(), reason: "a\nb" } }), 400, ["reason"]],
    [
      "a body over 16 KiB",
      () => ({ body: { certificateArn: ARN(), reason: "x".repeat(17_000) } }),
      413,
      ["body"],
    ],
    [
      "a form body",
      () => ({ body: `certificateArn=${ARN()}`, contentType: "application/x-www-form-urlencoded" }),
      415,
      ["content-type"],
    ],
    [
      "text/plain JSON",
      () => ({ body: { certificateArn: ARN() }, contentType: "text/plain" }),
      415,
      ["content-type"],
    ],
  ];

  it.each(badInput)(
    "refuses %s (4xx naming the field) and changes nothing",
    async (_, options, status, fields) => {
      const before = await snapshot(f);
      const answer = await start(f, options());
      expect(answer.status).toBe(status);
      expect(answer.headers["content-type"]).toBe("application/json");
      expect(answer.body.error.problems.map((p: { field: string }) => p.field)).toEqual(fields);
      await expectUnchanged(f, before);
    },
  );
});

// ---- reading rotations ----------------------------------------------------------------------------------

/** Records a rotation's events as the workflow's steps do (state = fold of the events so far). */
async function recordRotation(rotationId: string, events: RotationEvent[]): Promise<RotationState> {
  let state = initialState(rotationId);
  for (const [i, event] of events.entries()) {
    state = applyEvent(state, event);
    await store.record(state, event, i);
  }
  return state;
}

const ROT = {
  completed: "rot-11111111-2222-4333-8444-555555555555-0123456789abcdef",
  rolledBack: "rot-11111111-2222-4333-8444-555555555555-0123456789abcdef-2",
  running: "rot-22222222-2222-4333-8444-555555555555-fedcba9876543210",
};

function eventsOf(
  rotationId: string,
  startedAt: string,
  end: "completed" | "rolled-back" | "running",
): RotationEvent[] {
  const at = (s: number) => new Date(Date.parse(startedAt) + s * 1000).toISOString();
  const request = {
    certificateArn: `arn:aws:acm:us-east-1:123456789012:certificate/${rotationId.slice(4, 40)}`,
    serial: "0a1b2c",
    reason: "Due",
    actor: "scheduled-scan",
  };
  const events: RotationEvent[] = [
    { type: "started", at: at(0), request },
    {
      type: "planned",
      at: at(1),
      old: {
        arn: request.certificateArn,
        serial: "0a1b2c",
        keyAlgorithm: "EC_prime256v1",
        subject: "CN=client, O=Acme",
        notAfter: at(86_400),
        certificatePem: "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n",
      },
      waves: [
        { index: 0, canary: true, targets: [{ distributionId: "E1AAAAAAAAAAAA", originIds: ["origin-1"] }] },
      ],
      newIssuerArn:
        "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c",
      replacementKey: UNCHANGED_EC_KEY,
      baselines: { E1AAAAAAAAAAAA: 0.1 },
    },
  ];
  if (end === "completed") events.push({ type: "completed", at: at(2) });
  if (end === "rolled-back") {
    events.push(
      { type: "rollback-requested", at: at(2), reason: "ManualRollback", actor: PRINCIPAL, detail: "canary" },
      { type: "rolled-back", at: at(3) },
    );
  }
  return events;
}

describe("GET /rotations and GET /rotations/{id}", () => {
  let f: ReturnType<typeof fixture>;
  beforeAll(async () => {
    await recordRotation(ROT.completed, eventsOf(ROT.completed, "2026-03-01T06:00:00.000Z", "completed"));
    await recordRotation(ROT.rolledBack, eventsOf(ROT.rolledBack, "2026-03-02T06:00:00.000Z", "rolled-back"));
    await recordRotation(ROT.running, eventsOf(ROT.running, "2026-03-03T06:00:00.000Z", "running"));
  });
  beforeEach(() => {
    f = fixture();
  });

  const list = (query?: Record<string, string>) =>
    invoke(
      listRotationsHandler(async () => f.deps, quiet),
      apiEvent("GET /rotations", query ? { query } : {}),
    );
  const get = (id: string) =>
    invoke(
      getRotationHandler(async () => ({ store: new RotationPages(store.tableReads) }), quiet),
      apiEvent("GET /rotations/{id}", { params: { id } }),
    );

  it("lists rotations newest first, a page at a time", async () => {
    const first = await list({ limit: "2" });
    expect(first.status).toBe(200);
    z.parse(strictly(RotationListAnswer), first.body);
    expect(first.body.rotations.map((r: { rotationId: string }) => r.rotationId)).toEqual([
      ROT.running,
      ROT.rolledBack,
    ]);
    expect(first.body.nextToken).toEqual(expect.any(String));
    const second = await list({ limit: "2", nextToken: first.body.nextToken });
    expect(second.body.rotations.map((r: { rotationId: string }) => r.rotationId)).toEqual([ROT.completed]);
    expect(second.body.nextToken).toBeUndefined();
    expect(first.body.rotations[0]).toEqual({
      rotationId: ROT.running,
      certificateArn: expect.stringMatching(/^arn:aws:acm:us-east-1:/),
      status: "planned",
      startedAt: "2026-03-03T06:00:00.000Z",
      updatedAt: "2026-03-03T06:00:01.000Z",
    });
  });

  it("filters by status", async () => {
    const answer = await list({ status: "rolled-back" });
    expect(answer.body.rotations.map((r: { rotationId: string }) => r.rotationId)).toEqual([ROT.rolledBack]);
  });

  it.each([
    ["a nextToken it did not hand out", { nextToken: "bm90LWEtdG9rZW4" }, "nextToken"],
    ["a nextToken that is not base64url", { nextToken: "%%%" }, "nextToken"],
    ["limit 0", { limit: "0" }, "limit"],
    ["limit 101", { limit: "101" }, "limit"],
    ["limit abc", { limit: "abc" }, "limit"],
    ["an unknown status", { status: "exploded" }, "status"],
    ["an unknown parameter", { sort: "asc" }, "sort"],
  ])("refuses %s with 400 naming the field", async (_, query, field) => {
    const before = await snapshot(f);
    const answer = await list(query);
    expect(answer.status).toBe(400);
    expect(answer.body.error.problems.map((p: { field: string }) => p.field)).toEqual([field]);
    await expectUnchanged(f, before);
  });

  it("shows a rotation's state and history, without the old certificate's body", async () => {
    const answer = await get(ROT.rolledBack);
    expect(answer.status).toBe(200);
    z.parse(strictly(RotationAnswer), answer.body);
    expect(answer.body.rotation).toMatchObject({
      rotationId: ROT.rolledBack,
      status: "rolled-back",
      rollback: { reason: "ManualRollback", actor: PRINCIPAL, detail: "canary" },
      old: { serial: "0a1b2c", keyAlgorithm: "EC_prime256v1" },
    });
    expect(answer.body.history.map((e: { type: string }) => e.type)).toEqual([
      "started",
      "planned",
      "rollback-requested",
      "rolled-back",
    ]);
    expect(answer.body.control).toBeUndefined();
    expect(answer.raw).not.toContain("BEGIN CERTIFICATE");
    expect(answer.body.rotation.old.certificatePem).toBeUndefined();
    expect(answer.body.history[1].old.certificatePem).toBeUndefined();
    expectNoKeyMaterial(answer.body);
  });

  it("answers 404 for an unknown rotation and 400 naming id for a malformed one", async () => {
    const missing = await get("rot-99999999-2222-4333-8444-555555555555-0123456789abcdef");
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NotFound");
    for (const id of ["ROT-1", "rot-", "rotation-1", `rot-${"a".repeat(61)}`, "rot-a_b", "dry-../x"]) {
      const answer = await get(id);
      expect(answer.status, id).toBe(400);
      expect(answer.body.error.problems.map((p: { field: string }) => p.field)).toEqual(["id"]);
    }
  });
});

// ---- decisions ------------------------------------------------------------------------------------------

describe("POST /rotations/{id}/rollback and /approve (delivery and refusals)", () => {
  let f: ReturnType<typeof fixture>;
  const waiting = "rot-33333333-2222-4333-8444-555555555555-0123456789abcdef";
  beforeAll(async () => {
    await recordRotation(waiting, eventsOf(waiting, "2026-03-04T06:00:00.000Z", "running"));
  });
  beforeEach(async () => {
    f = fixture();
    await store.setControl(waiting, undefined);
  });

  const decide = (action: "rollback" | "approve", id: string, options: ApiEventOptions = {}) => {
    const handler =
      action === "rollback"
        ? rollbackRotationHandler(async () => f.deps, quiet)
        : approveRotationHandler(async () => f.deps, quiet);
    return invoke(handler, apiEvent(`POST /rotations/{id}/${action}`, { ...options, params: { id } }));
  };

  it("delivers a rollback to the rotation's bake window, the caller as actor", async () => {
    await store.setControl(waiting, { callbackId: "cb-bake-0", kind: "bake", wave: 0 });
    // GET shows where a decision would land, never the callback id.
    const shown = await invoke(
      getRotationHandler(async () => ({ store: new RotationPages(store.tableReads) }), quiet),
      apiEvent("GET /rotations/{id}", { params: { id: waiting } }),
    );
    expect(shown.body.control).toEqual({ kind: "bake", wave: 0 });
    expect(shown.raw).not.toContain("cb-bake-0");

    const answer = await decide("rollback", waiting, { body: { reason: "error rate doubled" } });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ rotationId: waiting, action: "rollback", kind: "bake", wave: 0 });
    expect(f.delivered).toEqual([
      {
        callbackId: "cb-bake-0",
        result: JSON.stringify({ action: "rollback", actor: PRINCIPAL, reason: "error rate doubled" }),
      },
    ]);
  });

  it("delivers an approval (no body needed) to a rotation waiting for one", async () => {
    await store.setControl(waiting, { callbackId: "cb-approval-0", kind: "approval", wave: 0 });
    const answer = await decide("approve", waiting, { principal: ROLE_SESSION });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ rotationId: waiting, action: "approve", kind: "approval", wave: 0 });
    expect(JSON.parse(f.delivered[0]!.result)).toEqual({
      action: "approve",
      actor: ROLE_SESSION,
      reason: "",
    });
  });

  it("records a rollback asked for between control points (202 requested), once: the first request is the one taken", async () => {
    const first = await decide("rollback", waiting, { body: { reason: "edge errors" } });
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ rotationId: waiting, action: "rollback", kind: "requested", wave: 0 });
    z.parse(strictly(ControlAnswer), first.body);
    expect(await store.rollbackRequestOf(waiting)).toEqual({
      actor: PRINCIPAL,
      reason: "edge errors",
      requestedAt: expect.any(String),
    });
    const again = await decide("rollback", waiting, {
      body: { reason: "second thoughts" },
      principal: ROLE_SESSION,
    });
    expect(again.status).toBe(202);
    expect(await store.rollbackRequestOf(waiting)).toMatchObject({ actor: PRINCIPAL, reason: "edge errors" });
    expect(f.delivered).toEqual([]);
  });

  it("answers 409 with the rotation id when there is nothing to deliver to", async () => {
    for (const [action, id, control] of [
      ["approve", waiting, undefined],
      ["approve", waiting, { callbackId: "cb", kind: "bake", wave: 0 }],
      ["rollback", ROT.completed, undefined],
      ["approve", ROT.rolledBack, undefined],
    ] as const) {
      await store.setControl(waiting, control);
      const before = await snapshot(f);
      const answer = await decide(action, id);
      expect(answer.status, `${action} ${id}`).toBe(409);
      expect(answer.body.error).toMatchObject({ code: "Conflict", rotationId: id });
      await expectUnchanged(f, before);
    }
  });

  it("answers 404 for an unknown rotation", async () => {
    const answer = await decide("rollback", "rot-99999999-2222-4333-8444-555555555555-0123456789abcdef");
    expect(answer.status).toBe(404);
    expect(f.delivered).toEqual([]);
  });

  it.each([
    ["a malformed id", "rollback", "not-a-rotation", {}, 400, ["id"]],
    ["an unknown field", "rollback", waiting, { body: { reason: "x", force: true } }, 400, ["force"]],
    [
      "a reason over 512 characters",
      "rollback",
      waiting,
      { body: { reason: "r".repeat(513) } },
      400,
      ["reason"],
    ],
    ["a reason that is not text", "approve", waiting, { body: { reason: 42 } }, 400, ["reason"]],
    ["malformed JSON", "approve", waiting, { body: "{" }, 400, ["body"]],
    ["a JSON array", "approve", waiting, { body: [] }, 400, ["body"]],
    [
      "a form body",
      "rollback",
      waiting,
      { body: "reason=x", contentType: "application/x-www-form-urlencoded" },
      415,
      ["content-type"],
    ],
    ["a body over 16 KiB", "rollback", waiting, { body: { reason: "r".repeat(17_000) } }, 413, ["body"]],
    ["a bad id and a bad body at once", "rollback", "x", { body: { why: 1 } }, 400, ["id", "why"]],
  ] as Array<[string, "rollback" | "approve", string, ApiEventOptions, number, string[]]>)(
    "refuses %s and delivers nothing",
    async (_, action, id, options, status, fields) => {
      await store.setControl(waiting, { callbackId: "cb-open", kind: "approval", wave: 0 });
      const before = await snapshot(f);
      const answer = await decide(action, id, options);
      expect(answer.status).toBe(status);
      expect(answer.body.error.problems.map((p: { field: string }) => p.field)).toEqual(fields);
      await expectUnchanged(f, before);
      expect(await store.getControl(waiting)).toEqual({ callbackId: "cb-open", kind: "approval", wave: 0 });
    },
  );
});
