/**
 * The ACM expiry event as its wiring builds it (trackingDepsFrom over the stand-ins and dynalite): every
 * DynamoDB request it makes stays within the partitions infra/ lets it touch (EXPIRY_EVENT_PARTITIONS, its
 * role's `dynamodb:LeadingKeys`) — a decision that starts a rotation, one that converges on it, one whose
 * alert is due, one that finds a dead rotation's lock and releases it.
 */
import { CreateDistributionCommand } from "@aws-sdk/client-cloudfront";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcmAdapter } from "../../functions/adapters/acm.ts";
import { RotationStore } from "../../functions/adapters/rotation-store.ts";
import { EXPIRY_EVENT_PARTITIONS, inPartitions } from "../../functions/adapters/table-partitions.ts";
import { scanFleet } from "../../functions/tracking/scan-fleet.ts";
import { trackingConfig, trackingDepsFrom } from "../../functions/wiring/tracking.ts";
import { localWorkflowSdk, localWorkflowStarter } from "../../standins/durable.ts";
import { createRotationTable, dynamoDbClient, startDynamoDb } from "../../standins/dynamodb.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { createRootCa, createSubordinateCa, issueClientCredential } from "../../standins/pki.ts";
import { buildDistributionConfig } from "../support/distribution-config.ts";

const DAY = 86_400_000;
const TABLE = "mtls-rotator";
const REGION = "us-east-1";

let standins: Standins;
let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
let client: DynamoDBClient;
let authorityArn: string;
let topicArn: string;
let certificateArn: string;
/** The partition key of every DynamoDB request, in order. */
const partitions: string[] = [];

/** The `pk` values a DynamoDB request addresses (SDK input, marshalled or not). */
function partitionsOf(command: string, input: Record<string, unknown>): string[] {
  const text = (v: unknown) =>
    typeof v === "string" ? v : String((v as { S?: unknown } | undefined)?.S ?? JSON.stringify(v));
  const keyOf = (item: unknown) => text((item as Record<string, unknown>).pk);
  if (input.Key) return [keyOf(input.Key)];
  if (input.Item) return [keyOf(input.Item)];
  if (command === "QueryCommand")
    return [text((input.ExpressionAttributeValues as Record<string, unknown>)[":pk"])];
  if (input.RequestItems)
    return Object.values(
      input.RequestItems as Record<string, Array<Record<string, { Item?: unknown; Key?: unknown }>>>,
    )
      .flat()
      .map((request) => keyOf(request.PutRequest?.Item ?? request.DeleteRequest?.Key));
  throw new Error(`${command}: no partition key found`);
}

beforeAll(async () => {
  standins = await startStandins({ acmImportsPerSecond: 10_000 });
  topicArn = standins.sns.createTopic("mtls-rotator");
  dynamo = await startDynamoDb();
  client = dynamoDbClient(dynamo.endpoint);
  await createRotationTable(client, TABLE);
  // Every command through this client records the partitions it addresses.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      partitions.push(...partitionsOf(String(context.commandName), args.input as Record<string, unknown>));
      return next(args);
    },
    { step: "initialize", name: "recordPartitions", priority: "low" },
  );

  const root = await createRootCa({ name: "CN=Acme Root CA, O=Acme" });
  const ca = await createSubordinateCa(root, { name: "CN=Acme Origin Client CA, O=Acme" });
  authorityArn = standins.privateCa.addAuthority(ca);
  const credential = await issueClientCredential(ca, {
    subject: "CN=cloudfront-to-origin, O=Acme",
    notBefore: new Date(Date.now() - 80 * DAY),
    notAfter: new Date(Date.now() + 5 * DAY),
  });
  certificateArn = await new AcmAdapter(standins.clients().acm).importCertificate({
    ...credential,
    lineage: { rotationId: "initial", credential: "initial" },
  });
  await standins.clients().cloudfront.send(
    new CreateDistributionCommand({
      DistributionConfig: buildDistributionConfig({ origins: 1, mtlsArns: [certificateArn] }),
    }),
  );
});

afterAll(async () => {
  client?.destroy();
  await Promise.all([standins?.close(), dynamo?.close()]);
});

async function expiryEventDeps(executions: "succeed" | "fail", deadHolder?: string) {
  const config = trackingConfig({
    resource: {
      RotationTable: { name: TABLE },
      NotificationTopic: { arn: topicArn },
      TrustBundleBucket: { name: "mtls-rotator-trust" },
      RotationWorkflowStarter: { name: "mtls-rotator-production-RotationWorkflowHandler", qualifier: "3" },
      TrackingSettings: {
        authorityArn,
        trust: {
          bucketKey: "trust/origin-client-ca.pem",
          bundleSecretName: "mtls-rotator/trust/origin-client-ca",
        },
      },
    },
    env: { AWS_REGION: REGION, MTLS_ROTATOR_AWS_ENDPOINT: standins.endpoint },
  });
  const aws = standins.clients();
  // Executions that end as told at once: the dispatcher asks Lambda whether they are alive.
  const starter = localWorkflowStarter(() => ({
    run: async () =>
      executions === "fail" ? Promise.reject(new Error("died")) : { getStatus: () => "SUCCEEDED" },
  }));
  return trackingDepsFrom(config, {
    clients: {
      acm: aws.acm,
      cloudfront: aws.cloudfront,
      sns: aws.sns,
      dynamo: client,
      privateCa: () => aws.privateCa,
    },
    workflowSdk: {
      ...localWorkflowSdk(starter),
      // Lambda's word on an earlier rotation's execution: it died.
      executionStatus: async (_resource, name) => (name === deadHolder ? "FAILED" : starter.status?.(name)),
    },
    writeMetrics: () => undefined,
    log: () => undefined,
  });
}

describe("an ACM expiry event's DynamoDB requests", () => {
  it("stay within the partitions its role may touch, whatever it decides", async () => {
    // The test's own look at the table: another client, so its requests are not counted.
    const store = new RotationStore(dynamoDbClient(dynamo.endpoint), { tableName: TABLE });
    // Due and alerting (5 days left): it starts a rotation and claims the alert.
    const first = await scanFleet(await expiryEventDeps("succeed"), {
      onlyArn: certificateArn,
      actor: "acm-event",
    });
    expect(first.errors).toEqual([]);
    expect(first.managed).toBe(1);
    expect(first.rotations).toHaveLength(1);
    expect(first.alerts).toHaveLength(1);
    // Again: it converges on that rotation, the alert already claimed.
    await scanFleet(await expiryEventDeps("succeed"), { onlyArn: certificateArn, actor: "acm-event" });
    // A dead rotation holds the certificate's lock: released, and a fresh attempt started.
    await store.acquireLock(certificateArn, "rot-dead-holder");
    const third = await scanFleet(await expiryEventDeps("fail", "rot-dead-holder"), {
      onlyArn: certificateArn,
      actor: "acm-event",
    });
    expect(third.errors).toEqual([]);
    expect(await store.activeRotationFor(certificateArn)).not.toBe("rot-dead-holder");

    const touched = [...new Set(partitions)];
    // It did touch each kind of item it is allowed (so the check below means something) ...
    for (const prefix of ["INVENTORY", "ALERT#", "ROT#", "CERT#"])
      expect(
        touched.some((pk) => pk.startsWith(prefix)),
        prefix,
      ).toBe(true);
    // ... and nothing else: the drift report and the trust items are the full scan's.
    expect(touched.filter((pk) => !inPartitions(pk, EXPIRY_EVENT_PARTITIONS))).toEqual([]);
  });
});
