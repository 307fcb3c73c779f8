/**
 * The operator surface end to end, everything real except AWS control planes: `mtls-rotator` commands (in
 * process, and one in a child process with credentials from the standard chain) sign with SigV4 -> the HTTP
 * API stand-in verifies the signature and hands payload-2.0 events with the IAM principal -> the real route
 * handlers with their deployed wiring -> the real rotation store on dynalite and the AWS stand-ins (ACM,
 * Private CA with real signatures, CloudFront, Secrets Manager, S3, SNS, CloudWatch) -> rotations started by
 * the real dispatcher on the local durable runner (real timers) running the real workflow against real mTLS
 * origins, and operator decisions delivered to its durable callbacks.
 *
 * One story, step by step (each step builds on the previous one): a scan fills the inventory; the operator
 * looks (certificates, status), plans a rotation (dry run: nothing changes), starts it (a second start is a
 * conflict naming it), watches it complete; rotates the new generation and rolls it back during its bake
 * window; a stranger's credentials and an unsigned request get nowhere; a viewer certificate revoked with
 * `revoke-viewer` is refused by the shipped connection function reading the store the route wrote, and
 * connects again after `reinstate-viewer`. No private key appears anywhere the operator, the API or a
 * subscriber can read.
 */
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { credentialSecretPolicy, issuanceSecretName } from "../../functions/adapters/secrets.ts";
import * as answers from "../../functions/api/answers.ts";
import { HttpRotatorApi } from "../../functions/cli/api-client.ts";
import type {
  CertificateView,
  RotationAnswer,
  RotationPlanView,
  ViewerMtlsAnswer,
} from "../../functions/cli/api-types.ts";
import { credentialSecretName } from "../../functions/workflow/rotation-workflow.ts";
import { issueClientCredential } from "../../standins/pki.ts";
import { loadConnectionFunction } from "../support/connection-function.ts";
import { strictly } from "../support/contract.ts";
import { credentialSecrets, expectOnlyCompleteCredentials } from "../support/credential-secrets.ts";
import { useDurableRunner } from "../support/durable.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";
import {
  API_REGION,
  OPERATOR,
  type OperatorStack,
  startOperatorStack,
  WORKFLOW_ROLE_ARN,
} from "../support/operator-stack.ts";

useDurableRunner({ skipTime: false });

const PRINCIPAL = OPERATOR.principalArn;

let stack: OperatorStack;
let suiteStartedAt = 0;

beforeAll(async () => {
  suiteStartedAt = performance.now();
  stack = await startOperatorStack({ distributions: 3 });
}, 30_000);

afterAll(async () => {
  await stack?.close();
});

/** The API as the CLI calls it (real SigV4 with the operator's credentials), for the test's own reads. */
function operatorApi(): HttpRotatorApi {
  return new HttpRotatorApi({
    endpoint: stack.api.url,
    region: API_REGION,
    credentials: async () => ({
      accessKeyId: OPERATOR.accessKeyId,
      secretAccessKey: OPERATOR.secretAccessKey,
      sessionToken: OPERATOR.sessionToken,
    }),
  });
}

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Everything a request may change: table items, AWS resources, executions, notifications. */
async function snapshot() {
  return {
    items: await stack.tableItems(),
    executions: stack.starter.executions().length,
    presented: stack.presented(),
    acm: stack.standins.acm.arns().sort(),
    issued: stack.standins.privateCa.issuedCount,
    secrets: stack.standins.secrets.names().sort(),
    sns: stack.standins.sns.messages().length,
  };
}

const READ_OPERATION = /^(Get|List|Describe|Search|Head)/;

/** The credential secret of the certificate's lineage and its issuance secret (stand-in reads only). */
function lineageSecrets() {
  return credentialSecrets(stack.standins, credentialSecretName(stack.settings, stack.certificateArn));
}

/** Every private key that exists: the one in service and every version the rotations stored. */
function privateKeys(): string[] {
  const keys = [stack.credential.privateKeyPem];
  for (const name of stack.standins.secrets.names()) {
    for (const value of stack.standins.secrets.valuesOf(name)) {
      try {
        const parsed = JSON.parse(value) as { privateKeyPem?: unknown };
        if (typeof parsed.privateKeyPem === "string") keys.push(parsed.privateKeyPem);
      } catch {
        // Not a credential (the trust bundle secret holds PEM certificates).
      }
    }
  }
  return keys;
}

function rotationIdIn(stdout: string): string {
  const id = /^Rotation (\S+) started for /m.exec(stdout)?.[1];
  if (!id) throw new Error(`no rotation id in: ${stdout}`);
  return id;
}

describe("the operator surface, end to end", () => {
  let firstId = "";
  let newArn = "";
  let secondId = "";

  it("1. the scheduled scan fills the inventory", async () => {
    const report = await stack.scan();
    expect(report).toMatchObject({ certificates: 1, managed: 1, due: 0, rotations: [], errors: [] });
    expect(stack.starter.executions()).toHaveLength(0);
  });

  it("1b. `viewer-inventory` shows what the same scan found of viewer mTLS (none on this fleet)", async () => {
    const shown = await stack.cli(["viewer-inventory", "--json"]);
    expect(shown.stderr).toBe("");
    expect(shown.code).toBe(0);
    const inventory = JSON.parse(shown.stdout) as ViewerMtlsAnswer;
    expect(inventory.byMode).toEqual({
      none: stack.distributionIds.length,
      required: 0,
      optional: 0,
      passthrough: 0,
    });
    expect(inventory).toMatchObject({ distributions: [], trustStores: [], drift: [] });
    expect(stack.api.requests.at(-1)).toMatchObject({
      routeKey: "GET /viewer-mtls",
      principal: PRINCIPAL,
      status: 200,
    });
  });

  it("2. `certificates --json` (child process, credentials from the environment) and `status` show it", async () => {
    const listed = await stack.bin(["certificates", "--json"]);
    expect(listed.stderr).toBe("");
    expect(listed.code).toBe(0);
    const { certificates } = JSON.parse(listed.stdout) as { certificates: CertificateView[] };
    expect(certificates).toHaveLength(1);
    const [certificate] = certificates as [CertificateView];
    expect(certificate).toMatchObject({
      arn: stack.certificateArn,
      managed: true,
      retired: false,
      due: false,
      keyAlgorithm: "EC_prime256v1",
      decision: { reason: "Fresh" },
    });
    expect(certificate.serial.replaceAll(":", "").toLowerCase()).toBe(stack.serial);
    expect(certificate.daysToExpiry).toBeGreaterThanOrEqual(69);
    expect(certificate.daysToExpiry).toBeLessThanOrEqual(70);
    expect([...new Set(certificate.usage.map((u) => u.distributionId))].sort()).toEqual(
      [...stack.distributionIds].sort(),
    );
    // The request was signed with the session credentials and authorized as the operator's role session.
    expect(stack.api.requests.at(-1)).toMatchObject({
      routeKey: "GET /certificates",
      principal: PRINCIPAL,
      status: 200,
    });

    const status = await stack.cli(["status"]);
    expect(status.stderr).toBe("");
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("Certificates: 1 tracked, 1 managed (0 due, 0 expiring within 14 days)");
    expect(status.stdout).toMatch(
      new RegExp(`\\s${certificate.id}\\s+CN=cloudfront-to-origin.*Fresh\\s+3 distributions`),
    );
    expect(status.stdout).toContain("Rotations running: none");
  });

  it("3. `rotate --dry-run` prints the plan and changes nothing", async () => {
    const before = await snapshot();
    const callsFrom = stack.standins.server.calls.length;

    const dry = await stack.cli(["rotate", stack.certificateArn, "--dry-run"]);
    expect(dry.stderr).toBe("");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`Dry run for ${stack.certificateArn}: nothing was changed.`);
    expect(dry.stdout).toContain(`issuer   ${stack.authorityArn}`);
    expect(dry.stdout).toContain("s3://mtls-rotator-operator-trust/trust/origin-client-ca.pem");
    expect(dry.stdout).toContain("secretsmanager:mtls-rotator/trust/origin-client-ca");
    expect(dry.stdout).toContain("Waves (3 waves, 3 distributions;");
    const waveLines = dry.stdout.split("\n").filter((line) => /^\s+wave \d/.test(line));
    expect(waveLines).toHaveLength(3);
    expect(waveLines[0]).toMatch(/^\s+wave 0 \(canary\)\s+\S+ \(origin-1\)$/);
    for (const id of stack.distributionIds) {
      expect(waveLines.filter((line) => line.includes(`${id} (origin-1)`))).toHaveLength(1);
    }
    expect(dry.stdout).toContain(`Start it: mtls-rotator rotate ${stack.certificateArn}`);

    const json = await stack.cli(["rotate", stack.certificateArn, "--dry-run", "--json"]);
    expect(json.code).toBe(0);
    const { plan } = JSON.parse(json.stdout) as { plan: RotationPlanView };
    expect(plan.serial.replaceAll(":", "").toLowerCase()).toBe(stack.serial);
    expect(plan.waves.map((w) => w.distributions.length)).toEqual([1, 1, 1]);
    expect(plan.waves.flatMap((w) => w.distributions.map((d) => d.distributionId)).sort()).toEqual(
      [...stack.distributionIds].sort(),
    );
    expect(plan.trustTargets).toEqual([
      "s3://mtls-rotator-operator-trust/trust/origin-client-ca.pem",
      "secretsmanager:mtls-rotator/trust/origin-client-ca",
    ]);

    // Nothing changed: not a table item, not a resource, no execution; the stand-ins only answered reads.
    expect(await snapshot()).toEqual(before);
    const operations = stack.standins.server.calls.slice(callsFrom).map((c) => `${c.service}:${c.operation}`);
    expect(operations.length).toBeGreaterThan(0);
    expect(operations.filter((op) => !READ_OPERATION.test(op.split(":")[1]!))).toEqual([]);
  });

  it("4. `rotate --bake` starts a rotation (202); a second `rotate` is a conflict naming it (exit 5)", async () => {
    const requestsFrom = stack.api.requests.length;
    const started = await stack.cli(["rotate", stack.certificateArn, "--bake", "1", "--reason", "quarterly"]);
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);
    firstId = rotationIdIn(started.stdout);
    expect(started.stdout).toContain(`Follow it: mtls-rotator watch ${firstId}`);
    expect(stack.api.requests.slice(requestsFrom).map((r) => [r.routeKey, r.status, r.principal])).toEqual([
      ["POST /rotations", 202, PRINCIPAL],
    ]);
    expect(stack.starter.executions().map((e) => e.name)).toEqual([firstId]);
    expect(stack.starter.execution(firstId)?.payload).toMatchObject({
      certificateArn: stack.certificateArn,
      serial: stack.serial,
      actor: PRINCIPAL,
      reason: "quarterly",
      overrides: { bakeSeconds: 1 },
    });

    // Once the rotation holds the certificate's lock, a second start is refused and names it. (Before
    // that, a second start converges on the same execution: 202, started false.) `status` lists it once
    // its first event is recorded, just after the lock.
    await until("the rotation's lock and its first event", async () =>
      (await stack.store.activeRotationFor(stack.certificateArn)) === firstId &&
      (await stack.store.statusOf(firstId)) !== undefined
        ? true
        : undefined,
    );
    const again = await stack.cli(["rotate", stack.certificateArn]);
    expect(again.stdout).toBe("");
    expect(again.code).toBe(5);
    expect(again.stderr).toContain(`rotation ${firstId} is already running for ${stack.certificateArn}`);
    expect(again.stderr).toContain(`See it: mtls-rotator watch ${firstId}`);
    expect(stack.api.requests.at(-1)).toMatchObject({ routeKey: "POST /rotations", status: 409 });
    expect(stack.starter.executions()).toHaveLength(1);

    const status = await stack.cli(["status"]);
    expect(status.stdout).toContain("Rotations running: 1");
    expect(status.stdout).toContain(`Follow one: mtls-rotator watch ${firstId}`);
  });

  it("5. `watch` follows it to completed (exit 0); every distribution presents the new certificate", async () => {
    const watched = await stack.cli(["watch", firstId, "--interval", "0.25"]);
    expect(watched.stderr).toBe("");
    expect(watched.code).toBe(0);
    expect(watched.stdout).toContain(`started by ${PRINCIPAL}: quarterly`);
    expect(watched.stdout).toMatch(/wave 0 gate passed: .*probes 1\/1 accepted/);
    expect(watched.stdout).toContain(
      `Rotation ${firstId} completed: every distribution presents certificate/`,
    );
    expect(watched.stdout).not.toContain("\x1b");

    // The execution ends after the history's last event (it releases the lock and notifies then).
    const run = await stack.starter.execution(firstId)!.done;
    expect(run.error).toBeUndefined();
    expect((run.result as { getStatus(): string }).getStatus()).toBe("SUCCEEDED");

    const detail: RotationAnswer = await operatorApi().getRotation(firstId);
    // What a real rotation recorded is what the contract says, field for field.
    z.parse(strictly(answers.RotationAnswer), detail);
    expect(detail.rotation.status).toBe("completed");
    newArn = detail.rotation.issued!.certificateArn;
    expect(newArn).not.toBe(stack.certificateArn);
    expect(stack.presented()).toEqual([newArn, newArn, newArn]);
    expect(detail.rotation.waves.map((w) => [w.status, w.distributions.map((d) => d.outcome)])).toEqual([
      ["passed", ["swapped"]],
      ["passed", ["swapped"]],
      ["passed", ["swapped"]],
    ]);
    expect(detail.history[0]).toMatchObject({
      type: "started",
      request: { actor: PRINCIPAL, reason: "quarterly", certificateArn: stack.certificateArn },
    });
    expect(detail.history.at(-1)?.type).toBe("completed");
    // The old certificate retired after the grace period; the new one came from the Private CA stand-in.
    expect(stack.standins.acm.arns()).toEqual([newArn]);
    expect(stack.standins.privateCa.issuedCount).toBe(1);
    // Real mTLS probes (preflight and gates) reached every origin with the new certificate.
    for (const origin of stack.origins) expect(origin.counters.accepted).toBeGreaterThanOrEqual(2);
    for (const origin of stack.origins) expect(origin.counters.refused).toBe(0);
    // The credential secret (its first rotation) holds one version: the complete new credential, AWSCURRENT.
    const { credential, issuance } = lineageSecrets();
    expect(credential.versions).toHaveLength(1);
    const { current, previous } = expectOnlyCompleteCredentials(credential, {
      trustAnchorsPem: stack.issuer.certificatePem,
    });
    expect(current?.certificateArn).toBe(newArn);
    expect(previous).toBeUndefined();
    expect(issuance.holder("AWSPENDING")).toBeUndefined();
    // Both secrets of the lineage let no principal but the workflow's role (as its settings name it) use them.
    const lineage = credentialSecretName(stack.settings, stack.certificateArn);
    for (const secret of [lineage, issuanceSecretName(lineage)])
      expect(stack.standins.secrets.policyOf(secret), secret).toEqual(
        JSON.parse(credentialSecretPolicy(WORKFLOW_ROLE_ARN)),
      );

    const events = stack.standins.sns
      .messages(stack.topicArn)
      .filter((m) => m.attributes.certificateArn === stack.certificateArn)
      .map((m) => m.attributes.event);
    expect(events).toEqual([
      "rotation-started",
      "trust-published",
      "wave-completed",
      "wave-completed",
      "wave-completed",
      "rotation-completed",
    ]);
  }, 45_000);

  it("6. `rollback` during a bake window rolls the next generation's rotation back", async () => {
    const started = await stack.cli(["rotate", newArn, "--bake", "30", "--reason", "second generation"]);
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);
    secondId = rotationIdIn(started.stdout);
    expect(secondId).not.toBe(firstId);

    // The API answers 202 before the execution recorded anything: until then GET /rotations/{id} is a 404,
    // and `watch` gives up on a 404 at its first poll (reported as a bug). So look until it is visible.
    const api = operatorApi();
    const shown = async () =>
      api.getRotation(secondId).catch((error: unknown) => {
        if ((error as { status?: number }).status === 404) return undefined;
        throw error;
      });
    await until("the rotation to be visible", shown);

    // The operator watches (through a pipe) and decides when watch shows the bake window.
    let live = "";
    const watching = stack.cli(["watch", secondId, "--interval", "0.25"], {
      onStdout: (text) => {
        live += text;
      },
    });
    await until("watch to show the bake window", async () =>
      live.includes("Waiting: wave 0 is baking (manual rollback window)") ? true : undefined,
    );
    expect(live).toContain(`To roll back now: mtls-rotator rollback ${secondId} --reason "<why>"`);
    const baking = (await shown())!;
    expect(baking.control).toEqual({ kind: "bake", wave: 0 });
    const newerArn = baking.rotation.issued!.certificateArn;
    const presentedWhileBaking = stack.presented();
    expect(presentedWhileBaking.filter((arn) => arn === newerArn)).toHaveLength(1);
    expect(presentedWhileBaking.filter((arn) => arn === newArn)).toHaveLength(2);

    const rollback = await stack.cli(["rollback", secondId, "--reason", "canary looks wrong"]);
    expect(rollback.stderr).toBe("");
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toContain(
      `Rollback delivered to rotation ${secondId} at the bake window of wave 0`,
    );

    const watched = await watching;
    expect(watched.stderr).toBe("");
    expect(watched.code).toBe(6);
    expect(watched.stdout).toContain(
      `rollback requested by ${PRINCIPAL} (ManualRollback): canary looks wrong`,
    );
    expect(watched.stdout).toContain(
      `Rotation ${secondId} rolled back (ManualRollback): canary looks wrong.`,
    );

    // A rolled-back rotation ends its execution as failed, so alarms fire.
    const run = await stack.starter.execution(secondId)!.done;
    expect(run.error).toBeUndefined();
    expect((run.result as { getStatus(): string }).getStatus()).toBe("FAILED");
    expect(stack.presented()).toEqual([newArn, newArn, newArn]);

    const detail = await api.getRotation(secondId);
    z.parse(strictly(answers.RotationAnswer), detail);
    expect(detail.rotation.status).toBe("rolled-back");
    expect(detail.rotation.rollback).toMatchObject({
      actor: PRINCIPAL,
      reason: "ManualRollback",
      detail: "canary looks wrong",
    });
    expect(detail.history.filter((e) => e.type === "rollback-requested")).toEqual([
      expect.objectContaining({ actor: PRINCIPAL, reason: "ManualRollback", detail: "canary looks wrong" }),
    ]);
    expect(detail.history[0]).toMatchObject({ type: "started", request: { actor: PRINCIPAL } });
    // The generation that was rolled back is gone from ACM; the one in service stays.
    expect(stack.standins.acm.arns()).toEqual([newArn]);
    // The same lineage's secrets: the second generation staged its credential in the issuance secret (its
    // key and credential versions, AWSPENDING cleared), and the credential secret is as the first left it.
    const { credential, issuance } = lineageSecrets();
    expect(credential.versions).toHaveLength(1);
    expect(
      expectOnlyCompleteCredentials(credential, { trustAnchorsPem: stack.issuer.certificatePem }).current
        ?.certificateArn,
    ).toBe(newArn);
    expect(issuance.versions.filter((v) => v.document?.rotationId === secondId)).toHaveLength(2);
    expect(issuance.holder("AWSPENDING")).toBeUndefined();
    expect(
      stack.standins.sns
        .messages(stack.topicArn)
        .filter((m) => m.attributes.certificateArn === newArn)
        .at(-1)?.attributes.event,
    ).toBe("rolled-back");

    // Over: nothing left to decide.
    const late = await stack.cli(["rollback", secondId]);
    expect(late.code).toBe(5);
    expect(late.stderr).toContain(`rotation ${secondId} has already ended (rolled-back)`);
  }, 45_000);

  it("7. a stranger's credentials get exit 3 and an unsigned request 403, and change nothing", async () => {
    const before = await snapshot();
    const answersBefore = stack.answers.length;
    const callsBefore = stack.standins.server.calls.length;

    const stranger = await stack.cli(["rotate", newArn, "--reason", "not mine"], {
      credentials: async () => ({ accessKeyId: "AKIASTRANGER00000001", secretAccessKey: "guessed" }),
    });
    expect(stranger.stdout).toBe("");
    expect(stranger.code).toBe(3);
    expect(stranger.stderr).toContain("the API does not recognise access key AKIASTRANGER00000001");
    expect(stack.api.requests.at(-1)).toMatchObject({
      routeKey: "POST /rotations",
      status: 403,
      refused: "The security token included in the request is invalid.",
    });

    for (const [method, path, body] of [
      ["GET", "/certificates", undefined],
      ["POST", "/rotations", JSON.stringify({ certificateArn: newArn })],
      ["POST", `/rotations/${secondId}/rollback`, "{}"],
    ] as const) {
      const response = await fetch(`${stack.api.url}${path}`, {
        method,
        ...(body ? { body, headers: { "content-type": "application/json" } } : {}),
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ message: "Missing Authentication Token" });
    }

    // No handler ran, nothing was written or started.
    expect(stack.answers.length).toBe(answersBefore);
    expect(stack.standins.server.calls.length).toBe(callsBefore);
    expect(await snapshot()).toEqual(before);
  });

  it("8. `revoke-viewer` gets a viewer certificate refused at the edge; `reinstate-viewer` lets it back", async () => {
    const viewer = await issueClientCredential(stack.issuer, { subject: "CN=partner-laptop-17, O=Partner" });
    const serial = new X509Certificate(viewer.certificatePem).serialNumber;
    // As openssl prints it: colon-separated, upper case.
    const pasted = (serial.length % 2 ? `0${serial}` : serial).match(/../g)!.join(":").toUpperCase();
    const edge = loadConnectionFunction(
      join(import.meta.dirname, "../../functions/viewer/edge/deny-revoked.js"),
      stack.standins.keyValueStores.edgeReader(stack.revocationStoreArn),
    );
    expect((await edge.connect({ serialNumber: serial })).decision).toBe("allow");

    const revoked = await stack.cli(["revoke-viewer", pasted, "--reason", "laptop stolen"]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^Revoked serial [0-9a-f]+: viewers presenting it are refused /);
    expect((await edge.connect({ serialNumber: serial })).decision).toBe("deny");
    const shown = await stack.cli(["viewer-revocation", serial]);
    expect(shown.stdout).toMatch(
      new RegExp(`is revoked .* by ${PRINCIPAL.replace(/[/.]/g, "\\$&")}: laptop stolen\n$`),
    );
    expect(stack.standins.sns.messages().at(-1)).toMatchObject({
      attributes: { event: "viewer-certificate-revoked", certificateArn: stack.revocationStoreArn },
    });

    const reinstated = await stack.cli(["reinstate-viewer", serial, "--reason", "laptop found"]);
    expect(reinstated.code, reinstated.stderr).toBe(0);
    expect((await edge.connect({ serialNumber: serial })).decision).toBe("allow");
    expect(stack.standins.sns.messages().at(-1)).toMatchObject({
      attributes: { event: "viewer-certificate-reinstated", certificateArn: stack.revocationStoreArn },
    });
  });

  it("no private key material in any command output, API answer, SNS message, log or checkpoint", async () => {
    const keys = privateKeys();
    // The key in service, and per rotation the staged key and the staged credential.
    expect(keys.length).toBeGreaterThanOrEqual(3);
    expect(stack.outputs.join("").length).toBeGreaterThan(0);
    expectNoKeyMaterial(stack.outputs, keys);
    expect(stack.answers.length).toBeGreaterThan(10);
    expectNoKeyMaterial(stack.answers, keys);
    expect(stack.standins.sns.messages().length).toBeGreaterThan(0);
    expectNoKeyMaterial(stack.standins.sns.messages(), keys);
    expectNoKeyMaterial(stack.logs, keys);
    for (const execution of stack.starter.executions()) {
      const { result } = await execution.done;
      expectNoKeyMaterial((result as { getOperations(): unknown }).getOperations(), keys);
    }
    // The whole story, set-up included, stays well under a minute.
    console.info(`operator surface: ${((performance.now() - suiteStartedAt) / 1000).toFixed(1)} s`);
  });
});
