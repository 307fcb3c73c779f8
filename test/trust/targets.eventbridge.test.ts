/**
 * The EventBridge target through the real SDK client against the stand-in: a TrustBundlePublished event with
 * metadata only (never PEM), a version sequence per distinct bundle, `changed` against the last announcement
 * (kept in an injected store), failed entries surfaced (PutEvents answers 200 anyway), and a bus that does
 * not exist caught before the event would silently vanish.
 */
import type { EventBridgeClient, PutEventsCommandOutput } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeTrustBundle, type TrustBundle } from "../../functions/core/trust-bundle.ts";
import {
  type Announcement,
  EVENT_DETAIL_TYPE,
  EventBridgeTarget,
  EventBridgeTargetError,
  memoryAnnouncementStore,
} from "../../functions/trust/targets/eventbridge.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import type { CertificateAuthority } from "../../standins/pki.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";
import { goodP256, NOW, smallCa } from "../support/pki-fixtures.ts";

let s: Standins;
let client: EventBridgeClient;
let alpha: CertificateAuthority;
let bravo: CertificateAuthority;
let one: TrustBundle;
let two: TrustBundle;
let counter = 0;

beforeAll(async () => {
  s = await startStandins();
  client = s.clients({ maxAttempts: 1 }).eventbridge;
  [alpha, bravo] = await Promise.all([smallCa("CN=Alpha Event CA"), smallCa("CN=Bravo Event CA")]);
  one = computeTrustBundle({ current: [alpha.certificatePem], now: NOW });
  two = computeTrustBundle({ current: [alpha.certificatePem, bravo.certificatePem], now: NOW });
});

afterAll(async () => {
  await s?.close();
});

function bus(): string {
  counter += 1;
  const name = `trust-${counter}`;
  s.eventbridge.createEventBus(name);
  return name;
}

const details = (name: string) => s.eventbridge.events(name).map((e) => JSON.parse(e.detail));

describe("EventBridgeTarget", () => {
  it("announces the bundle: source, detail type, and metadata only (sha, version, certificates, location)", async () => {
    const name = bus();
    const target = new EventBridgeTarget({
      client,
      eventBusName: name,
      location: (bundle) => `s3://trust-bundles/bundle.pem#${bundle.sha256.slice(0, 8)}`,
      now: () => NOW,
    });
    const result = await target.write(two);
    const [event] = s.eventbridge.events(name);
    expect(result).toEqual({ changed: true, version: event!.eventId });
    expect(event).toMatchObject({ source: "mtls-rotator", detailType: EVENT_DETAIL_TYPE, time: NOW });
    expect(JSON.parse(event!.detail)).toEqual({
      bundleSha256: two.sha256,
      version: 1,
      certificates: two.entries.map((e) => ({
        subject: e.subject,
        fingerprint: e.fingerprint,
        keyFingerprint: e.keyFingerprint,
        notAfter: e.notAfter,
      })),
      location: `s3://trust-bundles/bundle.pem#${two.sha256.slice(0, 8)}`,
    });
    expect(event!.detail).not.toContain("-----BEGIN");
    expect(target.name).toBe(`eventbridge:${name}`);
  });

  it("never carries key material or PEM", async () => {
    const credential = await goodP256();
    const name = bus();
    await new EventBridgeTarget({ client, eventBusName: name }).write(two);
    const [event] = s.eventbridge.events(name);
    expectNoKeyMaterial(event, [credential.privateKeyPem]);
    for (const pem of [alpha.certificatePem, bravo.certificatePem]) {
      const body = pem.replace(/-----[A-Z ]+-----|\s+/g, "");
      expect(event!.detail).not.toContain(body.slice(0, 40));
    }
  });

  it("the same bundle again: changed false, no event, the last event's id as version", async () => {
    const name = bus();
    const target = new EventBridgeTarget({ client, eventBusName: name });
    const first = await target.write(one);
    const puts = s.server.count("events", "PutEvents");
    expect(await target.write(one)).toEqual({ changed: false, version: first.version });
    expect(s.server.count("events", "PutEvents")).toBe(puts);
    expect(s.eventbridge.events(name)).toHaveLength(1);
  });

  it("each distinct bundle gets the next version, a return to an earlier bundle included", async () => {
    const name = bus();
    const target = new EventBridgeTarget({ client, eventBusName: name });
    const changed = [];
    for (const bundle of [one, two, two, one]) changed.push((await target.write(bundle)).changed);
    expect(changed).toEqual([true, true, false, true]);
    expect(details(name).map((d) => [d.version, d.bundleSha256])).toEqual([
      [1, one.sha256],
      [2, two.sha256],
      [3, one.sha256],
    ]);
  });

  it("the injected store carries the last announcement across instances (a cold start)", async () => {
    const name = bus();
    const store = memoryAnnouncementStore();
    await new EventBridgeTarget({ client, eventBusName: name, store }).write(one);
    const afterColdStart = new EventBridgeTarget({ client, eventBusName: name, store });
    expect((await afterColdStart.write(one)).changed).toBe(false);
    await afterColdStart.write(two);
    expect(details(name).map((d) => d.version)).toEqual([1, 2]);
    expect(await store.load()).toMatchObject({ bundleSha256: two.sha256, version: 2 });
  });

  it("a bus that does not exist fails before PutEvents (which would drop the event and answer success)", async () => {
    const target = new EventBridgeTarget({ client, eventBusName: "no-such-trust-bus" });
    const puts = s.server.count("events", "PutEvents");
    const error = await target.write(one).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventBridgeTargetError);
    expect(error).toMatchObject({ errorCode: "ResourceNotFoundException" });
    expect(s.server.count("events", "PutEvents")).toBe(puts);
    expect(s.eventbridge.dropped()).toEqual([]);
  });

  it("checks the bus once per target instance", async () => {
    const name = bus();
    const target = new EventBridgeTarget({ client, eventBusName: name });
    const describes = s.server.count("events", "DescribeEventBus");
    await target.write(one);
    await target.write(two);
    expect(s.server.count("events", "DescribeEventBus")).toBe(describes + 1);
  });

  it("a failed entry (answered with 200) is an error, and nothing is remembered: the next write sends", async () => {
    const name = bus();
    const store = memoryAnnouncementStore();
    const refused = new EventBridgeTarget({ client, eventBusName: name, source: "aws.mtls", store });
    await expect(refused.write(one)).rejects.toMatchObject({
      name: "EventBridgeTargetError",
      errorCode: "NotAuthorizedForSourceException",
    });
    expect(await store.load()).toBeUndefined();
    expect((await new EventBridgeTarget({ client, eventBusName: name, store }).write(one)).changed).toBe(
      true,
    );
  });

  it("retries an entry failing with a retryable code (ThrottlingException, InternalFailure), boundedly", async () => {
    const answers: Array<Partial<PutEventsCommandOutput>> = [
      { FailedEntryCount: 1, Entries: [{ ErrorCode: "ThrottlingException", ErrorMessage: "slow down" }] },
      { FailedEntryCount: 1, Entries: [{ ErrorCode: "InternalFailure", ErrorMessage: "oops" }] },
      { FailedEntryCount: 0, Entries: [{ EventId: "event-3" }] },
    ];
    const sent: string[] = [];
    const stub = {
      send: async (command: { constructor: { name: string } }) => {
        sent.push(command.constructor.name);
        return command.constructor.name === "DescribeEventBusCommand" ? {} : answers.shift();
      },
    } as unknown as EventBridgeClient;
    const sleeps: number[] = [];
    const target = new EventBridgeTarget({ client: stub, sleep: async (ms) => void sleeps.push(ms) });
    expect(await target.write(one)).toEqual({ changed: true, version: "event-3" });
    expect(sent.filter((n) => n === "PutEventsCommand")).toHaveLength(3);
    expect(sleeps).toEqual([100, 200]);

    const always = {
      send: async (command: { constructor: { name: string } }) =>
        command.constructor.name === "DescribeEventBusCommand"
          ? {}
          : { FailedEntryCount: 1, Entries: [{ ErrorCode: "InternalFailure", ErrorMessage: "down" }] },
    } as unknown as EventBridgeClient;
    await expect(
      new EventBridgeTarget({ client: always, maxAttempts: 3, sleep: async () => {} }).write(one),
    ).rejects.toMatchObject({ errorCode: "InternalFailure" });
  });

  it("read() answers undefined: an event cannot be read back", async () => {
    await expect(new EventBridgeTarget({ client, eventBusName: bus() }).read()).resolves.toBeUndefined();
  });

  it("starts from a stored announcement: the next version follows it", async () => {
    const name = bus();
    const stored: Announcement = { bundleSha256: one.sha256, version: 41, eventId: "earlier" };
    const target = new EventBridgeTarget({
      client,
      eventBusName: name,
      store: memoryAnnouncementStore(stored),
    });
    expect(await target.write(one)).toEqual({ changed: false, version: "earlier" });
    await target.write(two);
    expect(details(name)[0]?.version).toBe(42);
  });
});
