/**
 * The shipped sandbox scenarios, part 4 (see shipped-scenarios-1.test.ts): acknowledgement-preflight, an
 * origin that accepts connections from CloudFront only, against real nginx origins — with its acknowledgement
 * as the proof (the rotation completes without one connection to its address), and, as a variant, with the
 * probe as its proof (the probes time out and the rotation aborts before any swap). The roles the sandbox
 * gives the origin host and the service (who may write an acknowledgement) are checked on their own.
 */
import { X509Certificate } from "node:crypto";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf } from "../../functions/core/pem.ts";
import { guardServiceAcknowledgements, hostRoleClient } from "../../sandbox/acknowledgements.ts";
import { SANDBOX_RESOURCES, type SandboxFleet } from "../../sandbox/fleet.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";
import { describeWithNginx } from "../support/tools.ts";
import { expectNoKeysLeaked, finalArns, runShippedScenario } from "./run-scenario.ts";

/** Every version of acks/shop-api.json and the certificates Private CA issued, read at teardown. */
function acknowledgementsOf(into: { bodies: string[]; issued: Array<{ serial: string; pem: string }> }) {
  return (stage: "ready" | "teardown", fleet: SandboxFleet) => {
    if (stage !== "teardown") return;
    const versions = fleet.standins.s3.buckets().includes(SANDBOX_RESOURCES.bucket)
      ? fleet.standins.s3.versions(SANDBOX_RESOURCES.bucket, "acks/shop-api.json")
      : [];
    into.bodies.push(...versions.map((v) => v.body.toString("utf8")));
    into.issued.push(
      ...fleet.standins.privateCa
        .issuedCertificates()
        .map((c) => ({ serial: c.serial, pem: c.certificatePem })),
    );
  };
}

describeWithNginx()("shipped sandbox scenarios (nginx origins), part 4: acknowledgements", () => {
  it("acknowledgement-preflight: the edge-only origin's acknowledgement is its proof; nothing ever connects to its address", async () => {
    const seen = { bodies: [] as string[], issued: [] as Array<{ serial: string; pem: string }> };
    const run = await runShippedScenario("acknowledgement-preflight", { inspect: acknowledgementsOf(seen) });
    const { report } = run;
    expect(run.exitCode).toBe(0);
    const [rotation] = report.rotations;
    expect(rotation).toMatchObject({ status: "completed" });
    const shop = report.distributions.find((d) => d.name === "shop")!;
    const api = shop.origins[0]!;
    // Neither the preflight nor the gate connected to its address: the edge alone reached it (0 refused).
    expect(api.directConnections).toEqual([]);
    expect(api.edgePort).toBeGreaterThan(0);
    expect(api.edgePort).not.toBe(api.port);
    expect(api.requests).toBeGreaterThan(50);
    expect(report.edge.refused).toBe(0);
    // The host wrote it (its origin-sync's own PutObject), for the bundle the rotation published.
    expect(api.acknowledgement).toMatchObject({
      ackId: "shop-api",
      key: "acks/shop-api.json",
      last: { host: "sandbox-shop-api", bundleSha256: report.trustBundle.sha256, probes: 2 },
    });
    expect(api.acknowledgement!.written).toBeGreaterThanOrEqual(1);
    expect(report.awsCallsOutsideTheService.originSync["s3:PutObject"]).toBe(api.acknowledgement!.written);
    // The preflight read it: the origin was accepted by the acknowledgement, not probed (status null).
    expect(rotation!.preflight).toEqual([
      {
        origin: "shop/api",
        accepted: true,
        reason: "Acknowledged",
        proof: "acknowledgement",
        status: null,
        acknowledgement: {
          ackId: "shop-api",
          accepted: true,
          reason: "Acknowledged",
          host: "sandbox-shop-api",
          bundleSha256: report.trustBundle.sha256,
        },
      },
      expect.objectContaining({ origin: "blog/web", accepted: true, status: 200 }),
    ]);
    expect(run.lines.join("\n")).toMatch(
      /rotation edge: preflight \d+: 2\/2 accepted \(shop\/api by acknowledgement shop-api from sandbox-shop-api\)/,
    );
    // The object in the bucket: the new certificate among the probes that verified on the host, no key.
    const last = JSON.parse(seen.bodies.at(-1)!) as { probes: Array<{ certificateSha256: string }> };
    const issued = seen.issued.find((c) => c.serial === rotation!.newSerial)!;
    expect(last.probes.map((p) => p.certificateSha256)).toContain(
      fingerprintOf(new X509Certificate(issued.pem)),
    );
    for (const body of seen.bodies) expectNoKeyMaterial(body, run.privateKeys);
    const newArn = rotation!.newCertificateArn!;
    expect(finalArns(report)).toEqual({ "shop/api": newArn, "blog/web": newArn });
    expectNoKeysLeaked(run);
  }, 90_000);

  it("acknowledgement-preflight with proof probe: the probes to the edge-only address time out, the rotation aborts, nothing swapped", async () => {
    const seen = { bodies: [] as string[], issued: [] as Array<{ serial: string; pem: string }> };
    const run = await runShippedScenario("acknowledgement-preflight", {
      inspect: acknowledgementsOf(seen),
      edit: (scenario) => {
        const api = scenario.distributions[0]!.origins[0]!;
        api.proof = "probe";
        delete api.ackId;
        scenario.policy!.preflight = { timeoutSeconds: 8, intervalSeconds: 1 };
        scenario.expect = {
          rotations: [{ certificate: "edge", status: "aborted", reason: "PreflightRefused" }],
          maxRefusals: 0,
          presenting: { edge: "old" },
          awsCalls: { "cloudfront:UpdateDistribution": 0 },
        };
        return scenario;
      },
    });
    const { report } = run;
    expect(run.exitCode).toBe(0);
    const [rotation] = report.rotations;
    expect(rotation).toMatchObject({ status: "aborted", reason: "PreflightRefused" });
    expect(rotation!.detail).toMatch(/\/api \(no answer within 5000 ms\)$/);
    const api = report.distributions.find((d) => d.name === "shop")!.origins[0]!;
    // One probe per attempt reached its address (no credential in service to compare with), none answered.
    expect(rotation!.preflightAttempts).toBe(2);
    expect(api.directConnections).toHaveLength(rotation!.preflightAttempts);
    expect(rotation!.preflight!.find((v) => v.origin === "shop/api")).toEqual({
      origin: "shop/api",
      accepted: false,
      reason: "Refused",
      status: null,
      error: "no answer within 5000 ms",
    });
    // Its origin-sync wrote nothing: no acknowledgement proof, no --ack-id.
    expect(api.acknowledgement).toBeUndefined();
    expect(seen.bodies).toEqual([]);
    expect(report.awsCallsOutsideTheService.originSync["s3:PutObject"]).toBeUndefined();
    // Meanwhile the edge reached it as before.
    expect(api.requests).toBeGreaterThan(50);
    expect(report.edge.refused).toBe(0);
    expectNoKeysLeaked(run);
  }, 90_000);
});

describe("the sandbox's roles: only an origin host writes an acknowledgement, and only its own", () => {
  let standins: Standins;
  const Bucket = SANDBOX_RESOURCES.bucket;
  beforeAll(async () => {
    standins = await startStandins();
    standins.s3.createBucket(Bucket, { versioned: true });
  });
  afterAll(() => standins.close());

  it("the host may read the bundle and write acks/<its id>.json; nothing else", async () => {
    const host = hostRoleClient(standins, { bundleKey: SANDBOX_RESOURCES.bundleKey, ackId: "shop-api" });
    await host.send(new PutObjectCommand({ Bucket, Key: "acks/shop-api.json", Body: "{}" }));
    expect(standins.s3.object(Bucket, "acks/shop-api.json")).toBeDefined();
    for (const Key of ["acks/blog-web.json", SANDBOX_RESOURCES.bundleKey, "trust/probe-certificates.pem"])
      await expect(host.send(new PutObjectCommand({ Bucket, Key, Body: "x" }))).rejects.toMatchObject({
        name: "AccessDenied",
      });
    await expect(
      host.send(new GetObjectCommand({ Bucket, Key: "acks/shop-api.json" })),
    ).rejects.toMatchObject({
      name: "AccessDenied",
    });
    expect(standins.s3.object(Bucket, "acks/blog-web.json")).toBeUndefined();
  });

  it("the service may read an acknowledgement, never write one", async () => {
    const service = guardServiceAcknowledgements(standins.clients().s3);
    await expect(
      service.send(new PutObjectCommand({ Bucket, Key: "acks/forged.json", Body: "{}" })),
    ).rejects.toMatchObject({ name: "AccessDenied" });
    expect(standins.s3.object(Bucket, "acks/forged.json")).toBeUndefined();
    const read = await service.send(new GetObjectCommand({ Bucket, Key: "acks/shop-api.json" }));
    expect(await read.Body!.transformToString()).toBe("{}");
    await service.send(new PutObjectCommand({ Bucket, Key: "trust/probe-certificates.pem", Body: "x" }));
  });
});
