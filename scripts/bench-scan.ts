/**
 * Benchmark: the fleet scan of 10,000 managed certificates and 1,000 distributions against the stand-ins
 * with a simulated per-call latency, side by side with a naive per-item scan in the same run.
 *
 *   npm run bench                      (defaults: 10000 certificates, 1000 distributions, 10 ms per call)
 *   BENCH_CERTIFICATES=2000 BENCH_DISTRIBUTIONS=200 BENCH_LATENCY_MS=5 npm run bench
 *
 * Writes reports/bench-scan.json and reports/bench-scan.md. Everything runs on 127.0.0.1 and stops by itself.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { type ACMClient, DescribeCertificateCommand, ListCertificatesCommand } from "@aws-sdk/client-acm";
import {
  type CloudFrontClient,
  CreateDistributionCommand,
  GetDistributionConfigCommand,
  ListDistributionsCommand,
} from "@aws-sdk/client-cloudfront";
import { AcmAdapter, Pacer, SEARCH_CERTIFICATES_PAGE_SIZE } from "../functions/adapters/acm.ts";
import { LIST_DISTRIBUTIONS_PAGE_SIZE } from "../functions/adapters/cloudfront.ts";
import { InventoryStore } from "../functions/adapters/inventory-store.ts";
import { decideRenewal } from "../functions/core/renewal.ts";
import { generateKeyPair, privateKeyToPem } from "../functions/crypto/keys.ts";
import { READ_BUDGET, type ScanDeps, scanFleet } from "../functions/tracking/scan-fleet.ts";
import { trackingConfig, trackingDepsFrom } from "../functions/wiring/tracking.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../standins/dynamodb.ts";
import { startStandins } from "../standins/index.ts";
import { botocoreVersion, describeModelViolation, modelChecks } from "../standins/model/checks.ts";
import { createRootCa, createSubordinateCa, randomSerial, signLeaf } from "../standins/pki.ts";
import { ACCOUNT_ID } from "../standins/protocol.ts";

const CERTIFICATES = Number(process.env.BENCH_CERTIFICATES ?? 10_000);
const DISTRIBUTIONS = Number(process.env.BENCH_DISTRIBUTIONS ?? 1_000);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 10);
const NAIVE_CONCURRENCY = Number(process.env.BENCH_NAIVE_CONCURRENCY ?? 16);
const DAY = 86_400_000;

/** Samples heap use while `run` runs; returns the peak above the level at the start. */
async function measured<T>(run: () => Promise<T>) {
  global.gc?.();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 5);
  const started = performance.now();
  const checkStarted = modelChecks.checkMs;
  try {
    const result = await run();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    return {
      result,
      ms: performance.now() - started,
      // Of the wall time: the in-process stand-ins checking requests and answers against AWS's models.
      checkMs: modelChecks.checkMs - checkStarted,
      peakHeapMb: (peak - base) / 1024 / 1024,
    };
  } finally {
    clearInterval(timer);
  }
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** What a naive scan does: list, then describe every certificate and read every distribution's config. */
async function naiveScan(acm: ACMClient, cloudfront: CloudFrontClient, now: Date) {
  const arns: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await acm.send(
      new ListCertificatesCommand({
        Includes: { keyTypes: ["RSA_2048", "EC_prime256v1"] },
        MaxItems: 1000,
        NextToken,
      }),
    );
    for (const s of page.CertificateSummaryList ?? []) if (s.CertificateArn) arns.push(s.CertificateArn);
    NextToken = page.NextToken;
  } while (NextToken);
  const dueArns = new Set<string>();
  await pool(arns, NAIVE_CONCURRENCY, async (arn) => {
    const { Certificate: c } = await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }));
    const decision = decideRenewal({
      certificate: {
        arn,
        keyAlgorithm: c!.KeyAlgorithm!,
        notBefore: c!.NotBefore!,
        notAfter: c!.NotAfter!,
        managed: true,
      },
      now,
    });
    if (decision.rotate) dueArns.add(arn);
  });
  const ids: string[] = [];
  let Marker: string | undefined;
  do {
    const page = await cloudfront.send(
      new ListDistributionsCommand({ MaxItems: LIST_DISTRIBUTIONS_PAGE_SIZE, Marker }),
    );
    for (const d of page.DistributionList?.Items ?? []) if (d.Id) ids.push(d.Id);
    Marker = page.DistributionList?.IsTruncated ? page.DistributionList.NextMarker : undefined;
  } while (Marker);
  const usage = new Map<string, number>();
  await pool(ids, NAIVE_CONCURRENCY, async (id) => {
    const { DistributionConfig } = await cloudfront.send(new GetDistributionConfigCommand({ Id: id }));
    for (const o of DistributionConfig?.Origins?.Items ?? []) {
      const arn = o.CustomOriginConfig?.OriginMtlsConfig?.ClientCertificateArn;
      if (arn) usage.set(arn, (usage.get(arn) ?? 0) + 1);
    }
  });
  // Like the scan: a due certificate is rotated only when a distribution presents it.
  const due = [...dueArns].filter((arn) => usage.has(arn)).length;
  return { certificates: arns.length, due, referenced: usage.size };
}

async function main() {
  console.log(
    `bench: ${CERTIFICATES} certificates, ${DISTRIBUTIONS} distributions, ${LATENCY_MS} ms per call`,
  );
  const standins = await startStandins({ acmImportsPerSecond: 1e9 });
  const dynamo = await startDynamoDb();
  try {
    const clients = standins.clients({ maxAttempts: 3 });
    const now = new Date();

    // Seed: one CA, a few key pairs shared by many certificates (key generation is not what is measured).
    const seedStart = performance.now();
    const root = await createRootCa({ name: "CN=Bench Root, O=Bench" });
    const ca = await createSubordinateCa(root, { name: "CN=Bench Client CA, O=Bench" });
    const keys = await Promise.all(Array.from({ length: 8 }, () => generateKeyPair("EC_prime256v1")));
    const keyPems = await Promise.all(keys.map((k) => privateKeyToPem(k.privateKey)));
    const acm = new AcmAdapter(clients.acm, new Pacer(0));
    const arns: string[] = [];
    for (let i = 0; i < CERTIFICATES; i += 1) {
      const k = i % keys.length;
      // A spread of expiries: some due, most fresh.
      const notBefore = new Date(now.getTime() - ((i % 80) + 1) * DAY);
      const leaf = await signLeaf(ca, {
        publicKey: keys[k]!.publicKey,
        subject: `CN=client-${i}, O=Bench`,
        notBefore,
        notAfter: new Date(notBefore.getTime() + 90 * DAY),
        serial: randomSerial(),
      });
      arns.push(
        await acm.importCertificate({
          certificatePem: `${leaf.toString("pem")}\n`,
          chainPem: ca.certificatePem + root.certificatePem,
          privateKeyPem: keyPems[k]!,
          lineage: { rotationId: "bench", credential: `client-${i}` },
        }),
      );
    }
    const { buildDistributionConfig } = await import("../test/support/distribution-config.ts");
    for (let i = 0; i < DISTRIBUTIONS; i += 1) {
      await clients.cloudfront.send(
        new CreateDistributionCommand({
          DistributionConfig: buildDistributionConfig({ origins: 1, mtlsArns: [arns[i % arns.length]!] }),
        }),
      );
    }
    const seedMs = performance.now() - seedStart;
    console.log(`seeded in ${(seedMs / 1000).toFixed(1)} s`);

    const dynamoClient = dynamoDbClient(dynamo.endpoint);
    await createRotationTable(dynamoClient, "bench");
    const inventory = new InventoryStore(dynamoClient, { tableName: "bench" });
    let dynamoCalls = 0;
    dynamoClient.middlewareStack.add(
      (next) => async (args) => {
        dynamoCalls += 1;
        return next(args);
      },
      { step: "initialize", name: "countCalls" },
    );

    // The scan's dependencies as the deployed wiring builds them (trackingDepsFrom over linked resources),
    // pointed at the stand-ins; starting and notifying are counted, not done.
    const authorityArn = standins.privateCa.addAuthority(ca);
    const config = trackingConfig({
      resource: {
        RotationTable: { name: "bench" },
        NotificationTopic: { arn: `arn:aws:sns:us-east-1:${ACCOUNT_ID}:bench` },
        TrustBundleBucket: { name: "bench-trust" },
        RotationWorkflowStarter: { name: "bench-RotationWorkflow", qualifier: "1" },
        TrackingSettings: {
          authorityArn,
          trust: { bucketKey: "trust/origin-client-ca.pem", bundleSecretName: "bench/trust" },
        },
      },
      env: {
        AWS_REGION: "us-east-1",
        MTLS_ROTATOR_AWS_ENDPOINT: standins.endpoint,
        MTLS_ROTATOR_DYNAMODB_ENDPOINT: dynamo.endpoint,
      },
    });
    const started = new Set<string>();
    const wired = await trackingDepsFrom(config, {
      now: () => now,
      writeMetrics: () => undefined,
      log: () => undefined,
      clients: { ...clients, dynamo: dynamoClient, privateCa: () => clients.privateCa },
    });
    const deps: ScanDeps = {
      ...wired,
      inventory,
      startRotation: async ({ certificateArn }) => {
        const fresh = !started.has(certificateArn);
        started.add(certificateArn);
        return { rotationId: `rot-${certificateArn.slice(-12)}`, started: fresh };
      },
      notify: async () => undefined,
    };
    standins.server.latencyMs = LATENCY_MS;

    const runScan = async () => {
      standins.server.calls.length = 0;
      dynamoCalls = 0;
      const run = await measured(() => scanFleet(deps));
      return { ...run, calls: standins.server.callsByOperation(), dynamoCalls };
    };
    // The first scans read each managed certificate's body once (which CA key signed it), at most
    // READ_BUDGET a scan: as many scans as that takes, then the steady state.
    const firstScans: Array<Awaited<ReturnType<typeof runScan>>> = [];
    do firstScans.push(await runScan());
    while (firstScans.at(-1)!.result.verificationsDeferred > 0 && firstScans.length < 100);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const addCalls = (all: Array<Record<string, number>>) => {
      const total: Record<string, number> = {};
      for (const calls of all) for (const [k, n] of Object.entries(calls)) total[k] = (total[k] ?? 0) + n;
      return total;
    };
    const first = {
      ms: sum(firstScans.map((r) => r.ms)),
      checkMs: sum(firstScans.map((r) => r.checkMs)),
      peakHeapMb: Math.max(...firstScans.map((r) => r.peakHeapMb)),
      calls: addCalls(firstScans.map((r) => r.calls)),
      dynamoCalls: sum(firstScans.map((r) => r.dynamoCalls)),
      scans: firstScans.length,
      inventoryWrites: sum(firstScans.map((r) => r.result.inventoryWrites)),
    };
    const steady = await runScan();

    standins.server.calls.length = 0;
    const naive = await measured(() => naiveScan(clients.acm, clients.cloudfront, now));
    const naiveCalls = standins.server.callsByOperation();

    const controlPlane = (calls: Record<string, number>) =>
      Object.entries(calls)
        .filter(([k]) => k.startsWith("acm:") || k.startsWith("cloudfront:"))
        .reduce((sum, [, n]) => sum + n, 0);
    // The viewer mTLS inventory adds one ListTrustStores page (the bench fleet has no trust stores) and no
    // GetOriginRequestPolicy (no passthrough distribution): it reads the same ListDistributions pages.
    const viewerInventoryCalls = 1;
    const expectedPages =
      Math.ceil(CERTIFICATES / SEARCH_CERTIFICATES_PAGE_SIZE) +
      Math.ceil(DISTRIBUTIONS / LIST_DISTRIBUTIONS_PAGE_SIZE) +
      viewerInventoryCalls;
    const model = modelChecks.counts();
    const report = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, node: process.version },
      parameters: {
        certificates: CERTIFICATES,
        distributions: DISTRIBUTIONS,
        latencyMsPerCall: LATENCY_MS,
        naiveConcurrency: NAIVE_CONCURRENCY,
      },
      seedSeconds: Number((seedMs / 1000).toFixed(1)),
      scan: {
        firstRun: {
          /** Scans until every certificate was verified (READ_BUDGET bodies a scan). */
          scans: first.scans,
          wallMs: Math.round(first.ms),
          modelCheckMs: Math.round(first.checkMs),
          peakHeapMb: Number(first.peakHeapMb.toFixed(1)),
          controlPlaneCalls: controlPlane(first.calls),
          calls: first.calls,
          dynamoDbCalls: first.dynamoCalls,
          managed: steady.result.managed,
          due: steady.result.due,
          inventoryWrites: first.inventoryWrites,
        },
        steadyState: {
          wallMs: Math.round(steady.ms),
          modelCheckMs: Math.round(steady.checkMs),
          peakHeapMb: Number(steady.peakHeapMb.toFixed(1)),
          controlPlaneCalls: controlPlane(steady.calls),
          calls: steady.calls,
          dynamoDbCalls: steady.dynamoCalls,
          inventoryWrites: steady.result.inventoryWrites,
        },
        listingPagesNeeded: expectedPages,
        // The first run also reads each managed certificate's body once (which CA key signed it); later
        // runs read none: serials already verified keep their CA key in the inventory.
        firstRunBodyReads: first.calls["acm:GetCertificate"] ?? 0,
        noMoreCallsThanListingPages:
          controlPlane(first.calls) <= first.scans * expectedPages + steady.result.managed &&
          (first.calls["acm:GetCertificate"] ?? 0) <= steady.result.managed &&
          controlPlane(steady.calls) <= expectedPages,
      },
      naive: {
        wallMs: Math.round(naive.ms),
        modelCheckMs: Math.round(naive.checkMs),
        peakHeapMb: Number(naive.peakHeapMb.toFixed(1)),
        controlPlaneCalls: controlPlane(naiveCalls),
        calls: naiveCalls,
        due: naive.result.due,
      },
      ratio: {
        calls: Number((controlPlane(naiveCalls) / Math.max(1, controlPlane(steady.calls))).toFixed(1)),
        wallTime: Number((naive.ms / Math.max(1, steady.ms)).toFixed(1)),
      },
      // Every call of the benchmark (seeding included) checked against AWS's published models.
      modelChecks: {
        botocore: botocoreVersion(),
        checked: model.checked,
        violations: model.violations,
        details: modelChecks.all().map(describeModelViolation),
      },
    };
    mkdirSync("reports", { recursive: true });
    writeFileSync("reports/bench-scan.json", `${JSON.stringify(report, null, 2)}\n`);
    const md = `# Fleet scan benchmark

${report.date} · ${report.machine.cpus} CPUs · Node ${report.machine.node} · stand-ins on 127.0.0.1 with ${LATENCY_MS} ms simulated latency per call

${CERTIFICATES} managed certificates, ${DISTRIBUTIONS} distributions (naive scan: ${NAIVE_CONCURRENCY} calls in flight).

| | AWS control-plane calls | DynamoDB calls | wall time | of which model checks | peak heap |
|---|---:|---:|---:|---:|---:|
| scan, first run${first.scans > 1 ? `s (${first.scans} scans: at most ${READ_BUDGET} bodies read a scan)` : ""} (writes the inventory) | ${report.scan.firstRun.controlPlaneCalls} | ${report.scan.firstRun.dynamoDbCalls} | ${(first.ms / 1000).toFixed(2)} s | ${(first.checkMs / 1000).toFixed(2)} s | ${report.scan.firstRun.peakHeapMb} MB |
| scan, steady state | ${report.scan.steadyState.controlPlaneCalls} | ${report.scan.steadyState.dynamoDbCalls} | ${(steady.ms / 1000).toFixed(2)} s | ${(steady.checkMs / 1000).toFixed(2)} s | ${report.scan.steadyState.peakHeapMb} MB |
| naive per-item scan | ${report.naive.controlPlaneCalls} | 0 | ${(naive.ms / 1000).toFixed(2)} s | ${(naive.checkMs / 1000).toFixed(2)} s | ${report.naive.peakHeapMb} MB |

"Of which model checks": time the stand-ins (in this process) spent reading requests and answers back and validating them against AWS's models; the checks are on here as in every test. Wall time and peak heap include them and the stand-ins' own work; the call counts are what AWS would see.

- Listing pages needed: ${expectedPages} (ceil(${CERTIFICATES}/${SEARCH_CERTIFICATES_PAGE_SIZE}) SearchCertificates, the most AWS's model allows a page + ceil(${DISTRIBUTIONS}/${LIST_DISTRIBUTIONS_PAGE_SIZE}) ListDistributions, CloudFront's documented page size, read once for origin certificates and viewer mTLS alike + ${viewerInventoryCalls} ListTrustStores); the scan made **${report.scan.steadyState.controlPlaneCalls}** control-plane calls in steady state, and its first run read ${report.scan.firstRunBodyReads} certificate bodies for ${report.scan.firstRun.managed} managed certificates (each once: which CA key signed it): ${report.scan.noMoreCallsThanListingPages ? "no more than the listing pages (and, once per certificate, its body) need" : "MORE than the listing pages (and one body read per certificate) need"}.
- Naive / scan: **${report.ratio.calls}x** the calls, **${report.ratio.wallTime}x** the wall time (steady state).
- Decisions agree: scan found ${report.scan.firstRun.due} due, naive ${report.naive.due} due.
- Scan calls: ${JSON.stringify(report.scan.steadyState.calls)}; naive calls: ${JSON.stringify(report.naive.calls)}.
- AWS model checks (botocore ${report.modelChecks.botocore}): ${report.modelChecks.checked} calls of this benchmark (seeding included) checked against AWS's published service models; **${report.modelChecks.violations} violation(s)**.
`;
    writeFileSync("reports/bench-scan.md", md);
    console.log(md);
    if (!report.scan.noMoreCallsThanListingPages) process.exitCode = 1;
    if (report.scan.firstRun.due !== report.naive.due) process.exitCode = 1;
    if (report.modelChecks.violations > 0) {
      console.error(report.modelChecks.details.join("\n"));
      process.exitCode = 1;
    }
  } finally {
    await standins.close();
    await dynamo.close();
  }
}

await main();
