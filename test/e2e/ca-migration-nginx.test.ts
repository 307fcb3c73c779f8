/**
 * A whole fleet migrates from CA A to CA B against real nginx origins that keep their client-CA bundle in
 * sync with `origin-sync` (from the published S3 object), while an edge client keeps sending real mTLS
 * requests. Trust before swap: the bundle carries A and B before anything presents B. Retire after success:
 * once no managed certificate chains to A, the scan's trust reconciliation drops A and every origin follows.
 */

import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { afterEach, expect, it } from "vitest";
import { AcmAdapter } from "../../functions/adapters/acm.ts";
import { CloudFrontAdapter } from "../../functions/adapters/cloudfront.ts";
import { fingerprintOf, splitPem } from "../../functions/core/pem.ts";
import { managedAuthorityOf } from "../../functions/core/tracking.ts";
import { originSync } from "../../functions/origin-sync/origin-sync.ts";
import { scanFleet } from "../../functions/tracking/scan-fleet.ts";
import { publishTrustBundle } from "../../functions/trust/publish-bundle.ts";
import { reconcileTrust } from "../../functions/trust/reconcile.ts";
import { createRotationWorkflow } from "../../functions/workflow/rotation-workflow.ts";
import { useDurableRunner } from "../support/durable.ts";
import { startEdge } from "../support/edge.ts";
import { buildFleet, type Fleet, REAL_TIME_GATE } from "../support/fleet.ts";
import { describeWithNginx } from "../support/tools.ts";

useDurableRunner({ skipTime: false });

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

const BUNDLE_KEY = "trust/origin-client-ca.pem";

/** Every origin runs origin-sync against the published S3 object, every 250 ms, until stopped. */
function startOriginSync(f: Fleet) {
  let stopped = false;
  const failures: string[] = [];
  const s3 = f.standins.clients().s3;
  const loops = [...f.origins.values()].map(async (origin) => {
    const control = origin.control!();
    const nginx = `${control.binary} ${control.cliArgs.join(" ")}`;
    while (!stopped) {
      const result = await originSync(
        {
          source: `s3://${f.bucket}/${BUNDLE_KEY}`,
          out: control.clientCaBundlePath,
          check: `${control.binary} -t ${control.cliArgs.join(" ")}`,
          reload: `${nginx} -s reload`,
        },
        { clients: { s3: () => s3 }, log: () => undefined, warn: () => undefined },
      );
      if (result.exitCode !== 0) failures.push(`${origin.name}: ${result.message}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });
  return {
    failures,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

function fingerprintsIn(pem: string): Set<string> {
  return new Set(splitPem(pem).map((p) => fingerprintOf(new X509Certificate(p))));
}

/** Polls until every origin's live bundle satisfies `check`, or fails after the bound. */
async function untilOrigins(f: Fleet, check: (fingerprints: Set<string>) => boolean, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const all = [...f.origins.values()].every((o) =>
      check(fingerprintsIn(readFileSync(o.control!().clientCaBundlePath, "utf8"))),
    );
    if (all) return;
    if (Date.now() > deadline) throw new Error("origins did not converge on the expected bundle in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describeWithNginx()("CA migration against real nginx origins kept in sync by origin-sync", () => {
  it.each([
    { name: "same key type", from: "EC_prime256v1", to: "EC_prime256v1", replacement: "EC_prime256v1" },
    // ACM imports a certificate only with its signing CA's key type: the replacement follows CA B's key.
    { name: "RSA CA A -> P-256 CA B", from: "RSA_2048", to: "EC_prime256v1", replacement: "EC_prime256v1" },
  ] as const)(
    "$name: moves the fleet from CA A to CA B with zero refused requests, and CA A leaves every bundle",
    async (c) => {
      const f = await buildFleet({
        distributions: 3,
        origin: "nginx",
        caKeyAlgorithm: c.from,
        newIssuer: "other",
        newCaKeyAlgorithm: c.to,
        standins: { deployDelayMs: 1_000 },
        traffic: "none", // the edge below is the traffic the gate reads
        settings: {
          gate: REAL_TIME_GATE,
          bakeSeconds: 1,
          graceSeconds: 1,
          deploy: { timeoutSeconds: 60, pollSeconds: 1 },
          preflight: { timeoutSeconds: 30, intervalSeconds: 1, probePath: "/" },
        },
      });
      cleanup.push(() => f.close());
      const caA = fingerprintOf(new X509Certificate(f.oldIssuer.certificatePem));
      const caB = fingerprintOf(new X509Certificate(f.newIssuer.certificatePem));

      // Today: the published bundle is CA A, and the origins sync from it.
      await publishTrustBundle({
        targets: f.deps.trustTargets,
        currentChainPem: f.oldTrustPem,
        incomingChainPem: "",
        now: new Date(),
      });
      const sync = startOriginSync(f);
      cleanup.push(() => sync.stop());
      await untilOrigins(f, (fps) => fps.has(caA) && !fps.has(caB));
      const edge = startEdge(f);
      cleanup.push(() => edge.stop());

      // The rotation publishes A + B, waits in preflight until every origin trusts B, then swaps.
      const runner = new LocalDurableTestRunner({
        handlerFunction: createRotationWorkflow(workflow, f.deps),
      });
      const result = await runner.run({ payload: f.input({ reason: "CaMigration", actor: "operator" }) });
      expect(result.getStatus()).toBe("SUCCEEDED");
      const newArn = (result.getResult() as { newCertificateArn: string }).newCertificateArn;
      expect(f.standins.acm.describeForCloudFront(newArn)?.keyAlgorithm).toBe(c.replacement);
      for (const id of f.distributionIds)
        expect(f.standins.cloudfront.originCertificates(id)["origin-1"]).toBe(newArn);
      await untilOrigins(f, (fps) => fps.has(caA) && fps.has(caB));

      // The next scan: no managed certificate chains to A any more -> A leaves the bundle, origins follow.
      const clients = f.standins.clients();
      const authorities = [
        { chainPem: f.oldTrustPem, next: false },
        { chainPem: f.newTrustPem, next: true },
      ];
      const scan = await scanFleet({
        listCertificates: (o) => new AcmAdapter(clients.acm).searchClientCertificates(o),
        readCertificate: async (arn) =>
          (await new AcmAdapter(clients.acm).getCertificate(arn)).certificatePem,
        indexUsage: () => new CloudFrontAdapter(clients.cloudfront).indexOriginCertificates(),
        inventory: f.inventory,
        startRotation: async () => {
          throw new Error("nothing should be due");
        },
        notify: async () => undefined,
        reconcileTrust: (inventory) =>
          reconcileTrust({
            targets: f.deps.trustTargets,
            authorities,
            inventory,
            clock: f.inventory.retirementClock,
            graceSeconds: 0,
            now: new Date(),
          }),
        policy: {
          managedAuthorities: [f.oldIssuer, f.newIssuer].map((ca) =>
            managedAuthorityOf(new X509Certificate(ca.certificatePem)),
          ),
        },
        now: () => new Date(),
      });
      expect(scan.errors).toEqual([]);
      expect(scan.trust?.retiredFingerprints).toContain(caA);
      await untilOrigins(f, (fps) => !fps.has(caA) && fps.has(caB));

      await edge.round();
      await sync.stop();
      const summary = await edge.stop();
      console.log(
        `[e2e] ca-migration (${c.name}): status=completed key=${c.replacement} swapped=${f.distributionIds.length} requests=${summary.requests} refused=${summary.refused}`,
      );
      expect(summary.refused).toBe(0);
      expect(summary.requests).toBeGreaterThan(50);
      expect(sync.failures).toEqual([]);
      // And the published bundle itself no longer carries A.
      const published = f.standins.s3.object(f.bucket, BUNDLE_KEY)!.body.toString("utf8");
      expect(fingerprintsIn(published).has(caA)).toBe(false);
    },
    120_000,
  );
});
