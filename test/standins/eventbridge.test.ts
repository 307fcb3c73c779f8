/**
 * The EventBridge stand-in, driven by the real `@aws-sdk/client-eventbridge` (awsJson1_1) over loopback HTTP:
 * accepted events are recorded with the EventId answered; request-level rules refuse the whole call, entry-level
 * rules fail only their entry (FailedEntryCount, ErrorCode per index); a bus that does not exist swallows the
 * event as AWS does, and DescribeEventBus is how a caller finds out.
 */
import {
  CreateEventBusCommand,
  DescribeEventBusCommand,
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_REQUEST_BYTES } from "../../standins/eventbridge.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { refusedByModel } from "../support/model-checks.ts";

let s: Standins;
let eb: EventBridgeClient;
let counter = 0;

beforeAll(async () => {
  s = await startStandins();
  eb = s.clients({ maxAttempts: 1 }).eventbridge;
});

afterAll(async () => {
  await s?.close();
});

function bus(): string {
  counter += 1;
  const name = `trust-events-${counter}`;
  s.eventbridge.createEventBus(name);
  return name;
}

const entry = (busName: string, extra: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry => ({
  Source: "mtls-rotator",
  DetailType: "TrustBundlePublished",
  Detail: JSON.stringify({ bundleSha256: "ab".repeat(32) }),
  EventBusName: busName,
  ...extra,
});

/** A JSON-object Detail of exactly `bytes` UTF-8 bytes. */
function detailOf(bytes: number): string {
  const detail = JSON.stringify({ p: "x".repeat(bytes - 8) });
  expect(Buffer.byteLength(detail)).toBe(bytes);
  return detail;
}

describe("accepted events", () => {
  it("records each event with the EventId it answered, its bus, source, detail type, detail and resources", async () => {
    const name = bus();
    const time = new Date("2026-06-01T12:00:00Z");
    const out = await eb.send(
      new PutEventsCommand({
        Entries: [
          entry(name, {
            Resources: ["arn:aws:elasticloadbalancing:us-east-1:111122223333:truststore/a/1"],
            Time: time,
          }),
          entry(name, { Detail: '{"second":true}' }),
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries?.map((e) => e.EventId)).toEqual([
      expect.stringMatching(/^[0-9a-f-]{36}$/),
      expect.any(String),
    ]);
    const events = s.eventbridge.events(name);
    expect(events).toEqual([
      {
        eventId: out.Entries?.[0]?.EventId,
        eventBusName: name,
        source: "mtls-rotator",
        detailType: "TrustBundlePublished",
        detail: JSON.stringify({ bundleSha256: "ab".repeat(32) }),
        resources: ["arn:aws:elasticloadbalancing:us-east-1:111122223333:truststore/a/1"],
        time,
        region: "us-east-1",
      },
      expect.objectContaining({ eventId: out.Entries?.[1]?.EventId, detail: '{"second":true}' }),
    ]);
  });

  it("[eventbridge.buses-regional] sends to the default bus when no EventBusName is given, and accepts an event-bus ARN", async () => {
    const name = bus();
    const arn = `arn:aws:events:us-east-1:111122223333:event-bus/${name}`;
    await eb.send(new PutEventsCommand({ Entries: [entry(name, { EventBusName: undefined })] }));
    await eb.send(new PutEventsCommand({ Entries: [entry(name, { EventBusName: arn })] }));
    expect(s.eventbridge.events("default").at(-1)?.source).toBe("mtls-rotator");
    expect(s.eventbridge.events(name)).toHaveLength(1);
  });
});

describe("entry-level failures (the call succeeds; only that entry fails)", () => {
  it.each<[string, Partial<PutEventsRequestEntry>, string, string]>([
    [
      "no Source",
      { Source: undefined },
      "InvalidArgument",
      "Parameter Source is not valid. Reason: Source is a required argument.",
    ],
    [
      "an empty Source",
      { Source: "" },
      "InvalidArgument",
      "Parameter Source is not valid. Reason: Source is a required argument.",
    ],
    [
      "no DetailType",
      { DetailType: undefined },
      "InvalidArgument",
      "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
    ],
    [
      "no Detail",
      { Detail: undefined },
      "InvalidArgument",
      "Parameter Detail is not valid. Reason: Detail is a required argument.",
    ],
    [
      "a DetailType over 128 characters",
      { DetailType: "T".repeat(129) },
      "InvalidArgument",
      "Parameter DetailType is not valid. Reason: DetailType is longer than 128 characters.",
    ],
    ["a Detail that is not JSON", { Detail: "bundle published" }, "MalformedDetail", "Detail is malformed."],
    ["a Detail that is a JSON array", { Detail: "[1,2]" }, "MalformedDetail", "Detail is malformed."],
    ["a Detail that is a JSON string", { Detail: '"published"' }, "MalformedDetail", "Detail is malformed."],
    [
      "a Source reserved for AWS",
      { Source: "aws.acm" },
      "NotAuthorizedForSourceException",
      "Not authorized for the source.",
    ],
  ])(
    "[eventbridge.entry-level-failures] [eventbridge.detail-type-128] %s -> %s",
    async (_, change, code, message) => {
      const name = bus();
      const out = await eb.send(
        new PutEventsCommand({
          Entries: [entry(name, { Detail: '{"first":1}' }), entry(name, change), entry(name)],
        }),
      );
      expect(out.FailedEntryCount).toBe(1);
      expect(out.Entries?.[0]?.EventId).toBeTruthy();
      expect(out.Entries?.[1]).toEqual({ ErrorCode: code, ErrorMessage: message });
      expect(out.Entries?.[2]?.EventId).toBeTruthy();
      expect(s.eventbridge.events(name).map((e) => e.eventId)).toEqual([
        out.Entries?.[0]?.EventId,
        out.Entries?.[2]?.EventId,
      ]);
    },
  );

  it("[eventbridge.all-entries-invalid] fails the whole request when no entry has Source, DetailType and Detail", async () => {
    const name = bus();
    await expect(
      eb.send(
        new PutEventsCommand({
          Entries: [entry(name, { Source: undefined }), entry(name, { Detail: undefined })],
        }),
      ),
    ).rejects.toMatchObject({ name: "ValidationException", $metadata: { httpStatusCode: 400 } });
    expect(s.eventbridge.events(name)).toEqual([]);
  });

  it("[eventbridge.detail-type-128] accepts a DetailType of exactly 128 characters", async () => {
    const name = bus();
    const out = await eb.send(
      new PutEventsCommand({ Entries: [entry(name, { DetailType: "T".repeat(128) })] }),
    );
    expect(out.FailedEntryCount).toBe(0);
  });
});

describe("request-level limits (ValidationException, nothing recorded)", () => {
  // Entries is 1..10 in AWS's model: the model check refuses 11 and none as EventBridge does
  // (ValidationException naming `entries`), before the stand-in sees the request.
  it("accepts 10 entries and refuses 11", async () => {
    const name = bus();
    await eb.send(new PutEventsCommand({ Entries: Array.from({ length: 10 }, () => entry(name)) }));
    const { error } = await refusedByModel(() =>
      eb.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry(name)) })),
    );
    expect(error).toMatchObject({
      name: "ValidationException",
      $metadata: { httpStatusCode: 400 },
      message:
        "1 validation error detected: Value '[11 items]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10",
    });
    expect(s.eventbridge.events(name)).toHaveLength(10);
  });

  it("refuses an empty Entries list", async () => {
    const dropped = s.eventbridge.dropped().length;
    const { error } = await refusedByModel(() => eb.send(new PutEventsCommand({ Entries: [] })));
    expect(error).toMatchObject({
      name: "ValidationException",
      $metadata: { httpStatusCode: 400 },
      message:
        "1 validation error detected: Value '[0 items]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
    });
    expect(s.eventbridge.dropped()).toHaveLength(dropped);
  });

  it(`[eventbridge.entry-size] accepts ${MAX_REQUEST_BYTES} bytes of entries and refuses one more, counted as AWS documents`, async () => {
    const name = bus();
    const fixed = Buffer.byteLength("mtls-rotator") + Buffer.byteLength("TrustBundlePublished");
    const half = MAX_REQUEST_BYTES / 2;
    // Two entries: the total counts, not each entry.
    const exact = [
      entry(name, { Detail: detailOf(half - fixed) }),
      entry(name, { Detail: detailOf(half - fixed) }),
    ];
    await eb.send(new PutEventsCommand({ Entries: exact }));
    const tooBig = [exact[0]!, entry(name, { Detail: detailOf(half - fixed + 1) })];
    await expect(eb.send(new PutEventsCommand({ Entries: tooBig }))).rejects.toMatchObject({
      name: "ValidationException",
      message: "Total size of the entries in the request is over the limit.",
    });
    // Time counts 14 bytes; resources count their bytes; multi-byte characters count as bytes.
    const withTime = [exact[0]!, entry(name, { Detail: detailOf(half - fixed - 13), Time: new Date() })];
    await expect(eb.send(new PutEventsCommand({ Entries: withTime }))).rejects.toMatchObject({
      name: "ValidationException",
    });
    const withResource = [exact[0]!, entry(name, { Detail: detailOf(half - fixed - 1), Resources: ["ab"] })];
    await expect(eb.send(new PutEventsCommand({ Entries: withResource }))).rejects.toMatchObject({
      name: "ValidationException",
    });
    const multiByte = JSON.stringify({ p: "é".repeat((half - fixed - 8) / 2 + 1) });
    await expect(
      eb.send(new PutEventsCommand({ Entries: [exact[0]!, entry(name, { Detail: multiByte })] })),
    ).rejects.toMatchObject({ name: "ValidationException" });
    expect(s.eventbridge.events(name)).toHaveLength(2);
  });

  it("refuses an EventBusName that is neither a bus name nor an event-bus ARN", async () => {
    const name = bus();
    const send = (bad: string) =>
      eb.send(new PutEventsCommand({ Entries: [entry(name), entry(name, { EventBusName: bad })] }));
    // AWS's model (NonPartnerEventBusNameOrArn): 1..1600 characters, a bus name of [.-_A-Za-z0-9] (no `/`: a
    // partner bus is no PutEvents target) or an event-bus ARN, matched whole. The model check refuses these
    // as EventBridge does, naming the entry's member, before the stand-in sees them.
    for (const [bad, constraint] of [
      ["bus name with spaces", "Member must satisfy regular expression pattern: "],
      ["arn:aws:sns:us-east-1:111122223333:topic", "Member must satisfy regular expression pattern: "],
      ["partner/bus", "Member must satisfy regular expression pattern: "],
      ["x".repeat(1601), "Member must have length less than or equal to 1600"],
    ] as const) {
      const { error } = await refusedByModel(() => send(bad));
      expect(error).toMatchObject({
        name: "ValidationException",
        $metadata: { httpStatusCode: 400 },
        message: expect.stringMatching(
          /^1 validation error detected: Value '[^']+' at 'entries\.2\.member\.eventBusName' failed to satisfy constraint: /,
        ),
      });
      expect(error.message).toContain(constraint);
    }
    expect(s.eventbridge.events(name)).toEqual([]);
    // The stand-in's own check (reached when it is called without the server) agrees with the model.
    for (const bad of ["bus name with spaces", "arn:aws:sns:us-east-1:111122223333:topic", "partner/bus"]) {
      expect(() =>
        s.eventbridge.handle(
          "PutEvents",
          { Entries: [entry(name), entry(name, { EventBusName: bad })] },
          {
            method: "POST",
            path: "/",
            query: new URLSearchParams(),
            headers: {},
            body: "",
            region: "us-east-1",
          },
        ),
      ).toThrow(expect.objectContaining({ code: "ValidationException" }));
    }
    expect(s.eventbridge.events(name)).toEqual([]);
  });
});

describe("event buses", () => {
  it("[eventbridge.missing-bus-drops] a bus that does not exist: PutEvents answers an EventId and the event goes nowhere, as on AWS", async () => {
    const out = await eb.send(new PutEventsCommand({ Entries: [entry("no-such-bus")] }));
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries?.[0]?.EventId).toBeTruthy();
    expect(s.eventbridge.events("no-such-bus")).toEqual([]);
    expect(s.eventbridge.dropped().map((e) => e.eventId)).toContain(out.Entries?.[0]?.EventId);
    await expect(eb.send(new DescribeEventBusCommand({ Name: "no-such-bus" }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
  });

  it("a bus created over HTTP exists for DescribeEventBus and PutEvents; a second create conflicts", async () => {
    const created = await eb.send(new CreateEventBusCommand({ Name: "made-over-http" }));
    expect(created.EventBusArn).toBe("arn:aws:events:us-east-1:111122223333:event-bus/made-over-http");
    const described = await eb.send(new DescribeEventBusCommand({ Name: "made-over-http" }));
    expect(described).toMatchObject({ Name: "made-over-http", Arn: created.EventBusArn });
    await eb.send(new PutEventsCommand({ Entries: [entry("made-over-http")] }));
    expect(s.eventbridge.events("made-over-http")).toHaveLength(1);
    await expect(eb.send(new CreateEventBusCommand({ Name: "made-over-http" }))).rejects.toMatchObject({
      name: "ResourceAlreadyExistsException",
    });
  });

  it("[eventbridge.buses-regional] buses are regional: a bus of us-east-1 does not exist in eu-west-1", async () => {
    const name = bus();
    const elsewhere = s.clients({ region: "eu-west-1", maxAttempts: 1 }).eventbridge;
    await expect(elsewhere.send(new DescribeEventBusCommand({ Name: name }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
    await elsewhere.send(new PutEventsCommand({ Entries: [entry(name)] }));
    expect(s.eventbridge.events(name)).toEqual([]);
  });
});

describe("server integration", () => {
  it("[eventbridge.throttling] answers an injected throttle (ThrottlingException), which the SDK retries", async () => {
    const name = bus();
    s.server.faults.inject({ service: "events", operation: "PutEvents", kind: "throttle" });
    await expect(eb.send(new PutEventsCommand({ Entries: [entry(name)] }))).rejects.toMatchObject({
      name: "ThrottlingException",
    });
    s.server.faults.inject({ service: "events", operation: "PutEvents", kind: "throttle" });
    const out = await s.clients().eventbridge.send(new PutEventsCommand({ Entries: [entry(name)] }));
    expect(out.$metadata.attempts).toBe(2);
    expect(s.eventbridge.events(name)).toHaveLength(1);
  });
});
