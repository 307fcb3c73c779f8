/**
 * The SNS stand-in, driven by the real `@aws-sdk/client-sns` (awsQuery) over loopback HTTP: delivered
 * messages are recorded with subject and attributes; SNS's rules on topics, subjects, message size and
 * message attributes are enforced, and a rejected publish delivers nothing.
 */
import {
  CreateTopicCommand,
  type MessageAttributeValue,
  PublishCommand,
  type PublishCommandInput,
  type SNSClient,
} from "@aws-sdk/client-sns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Standins, startStandins } from "../../standins/index.ts";
import { MAX_MESSAGE_BYTES } from "../../standins/sns.ts";
import { refusedByModel } from "../support/model-checks.ts";

let s: Standins;
let sns: SNSClient;
let counter = 0;

beforeAll(async () => {
  s = await startStandins();
  sns = s.clients({ maxAttempts: 1 }).sns;
});

afterAll(async () => {
  await s?.close();
});

function topic(): string {
  counter += 1;
  return s.sns.createTopic(`rotation-events-${counter}`);
}

function publish(input: Partial<PublishCommandInput>, client: SNSClient = sns) {
  return client.send(new PublishCommand({ Message: "{}", ...input }));
}

const str = (value: string): MessageAttributeValue => ({ DataType: "String", StringValue: value });

/** Expects the publish to be refused with `name` (400) and nothing to be delivered to `topicArn`. */
async function refused(topicArn: string, input: Partial<PublishCommandInput>, name: string) {
  await expect(publish({ TopicArn: topicArn, ...input })).rejects.toMatchObject({
    name,
    $metadata: { httpStatusCode: 400 },
  });
  expect(s.sns.messages(topicArn)).toEqual([]);
}

describe("publish", () => {
  it("records every delivered message with subject, attributes and the MessageId it answered", async () => {
    const arn = topic();
    const other = topic();
    const out = await publish({
      TopicArn: arn,
      Subject: "Rotation completed: dist E123 (3 waves)",
      Message: JSON.stringify({ event: "rotation-completed" }),
      MessageAttributes: {
        event: str("rotation-completed"),
        severity: str("info"),
        wave: { DataType: "Number", StringValue: "3" },
        origins: { DataType: "String.Array", StringValue: '["api","static"]' },
      },
    });
    await publish({ TopicArn: other, Message: "second" });

    expect(out.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.sns.messages(arn)).toEqual([
      {
        topicArn: arn,
        subject: "Rotation completed: dist E123 (3 waves)",
        message: '{"event":"rotation-completed"}',
        attributes: {
          event: "rotation-completed",
          severity: "info",
          wave: "3",
          origins: '["api","static"]',
        },
        attributeTypes: { event: "String", severity: "String", wave: "Number", origins: "String.Array" },
        messageId: out.MessageId,
      },
    ]);
    expect(s.sns.messages().map((m) => m.topicArn)).toEqual([arn, other]);
    expect(s.sns.messages(other)[0]).toMatchObject({ subject: undefined, message: "second", attributes: {} });
  });

  it("creates topics over HTTP idempotently, as us-east-1 ARNs of the stand-in account", async () => {
    const first = await sns.send(new CreateTopicCommand({ Name: "created-over-http" }));
    const again = await sns.send(new CreateTopicCommand({ Name: "created-over-http" }));
    expect(first.TopicArn).toBe("arn:aws:sns:us-east-1:111122223333:created-over-http");
    expect(again.TopicArn).toBe(first.TopicArn);
    await publish({ TopicArn: first.TopicArn, Message: "hello" });
    expect(s.sns.messages(first.TopicArn)).toHaveLength(1);
  });
});

describe("topics", () => {
  it("[sns.topic-not-found] answers 404 NotFound for a topic that does not exist", async () => {
    const missing = "arn:aws:sns:us-east-1:111122223333:no-such-topic";
    await expect(publish({ TopicArn: missing })).rejects.toMatchObject({
      name: "NotFoundException",
      $metadata: { httpStatusCode: 404 },
    });
    expect(s.sns.messages(missing)).toEqual([]);
  });

  it("[sns.topic-arn-region] refuses a malformed TopicArn, a missing one, and one of another region than the request's", async () => {
    const arn = topic();
    await refused(arn, { TopicArn: "rotation-events" }, "InvalidParameterException");
    await refused(arn, { TopicArn: undefined }, "InvalidParameterException");
    const elsewhere = s.clients({ region: "eu-west-1", maxAttempts: 1 }).sns;
    await expect(publish({ TopicArn: arn }, elsewhere)).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: "Invalid parameter: TopicArn",
    });
    expect(s.sns.messages(arn)).toEqual([]);
  });
});

describe("subject", () => {
  it("[sns.subject-rules] accepts printable ASCII shorter than 100 characters", async () => {
    const arn = topic();
    for (const subject of ["a".repeat(99), "[mtls-rotator] Rotation rolled back!", "9 origins", "#1: done"]) {
      await publish({ TopicArn: arn, Subject: subject });
    }
    expect(s.sns.messages(arn).map((m) => m.subject)).toHaveLength(4);
  });

  it.each([
    ["100 characters", "a".repeat(100)],
    ["a line break", "Rotation\ncompleted"],
    ["a carriage return", "Rotation\rcompleted"],
    ["a tab", "Rotation\tcompleted"],
    ["a non-ASCII character", "Rotation terminée"],
    ["a leading space", " Rotation completed"],
    ["an empty subject", ""],
  ])("refuses a subject with %s (InvalidParameter)", async (_, subject) => {
    const arn = topic();
    await expect(publish({ TopicArn: arn, Subject: subject })).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: "Invalid parameter: Subject",
      $metadata: { httpStatusCode: 400 },
    });
    expect(s.sns.messages(arn)).toEqual([]);
  });
});

describe("message", () => {
  it("[sns.message-required] requires a non-empty message; a missing one is refused first by AWS's model (ValidationError)", async () => {
    const arn = topic();
    await refused(arn, { Message: "" }, "InvalidParameterException");
    // PublishInput requires Message (botocore sns 2010-03-31): without it the model check answers before the
    // stand-in's own InvalidParameter check, as SNS answers a request failing its model validation.
    const { error } = await refusedByModel(() => publish({ TopicArn: arn, Message: undefined }));
    expect(error).toMatchObject({
      name: "ValidationError",
      message:
        "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null",
      $metadata: { httpStatusCode: 400 },
    });
    expect(s.sns.messages(arn)).toEqual([]);
  });

  it(`[sns.message-size] accepts ${MAX_MESSAGE_BYTES} bytes and refuses one more (multi-byte characters count as bytes)`, async () => {
    const arn = topic();
    await publish({ TopicArn: arn, Message: "x".repeat(MAX_MESSAGE_BYTES) });
    await refused(topic(), { Message: "x".repeat(MAX_MESSAGE_BYTES + 1) }, "InvalidParameterException");
    // 131,073 two-byte characters: fewer characters than the limit, more bytes.
    await refused(topic(), { Message: "é".repeat(MAX_MESSAGE_BYTES / 2 + 1) }, "InvalidParameterException");
    expect(s.sns.messages(arn)).toHaveLength(1);
  });

  it("[sns.message-size] counts message attributes toward the 256 KiB limit", async () => {
    const arn = topic();
    await refused(
      arn,
      { Message: "x".repeat(MAX_MESSAGE_BYTES - 10), MessageAttributes: { event: str("rotation-started") } },
      "InvalidParameterException",
    );
  });

  it("[sns.message-structure-json] needs a JSON object with a default entry when MessageStructure is json", async () => {
    const arn = topic();
    await refused(arn, { MessageStructure: "json", Message: '{"email":"hi"}' }, "InvalidParameterException");
    await refused(arn, { MessageStructure: "json", Message: "not json" }, "InvalidParameterException");
    await publish({ TopicArn: arn, MessageStructure: "json", Message: '{"default":"hi"}' });
    expect(s.sns.messages(arn)).toHaveLength(1);
  });
});

describe("message attributes", () => {
  it("[sns.attribute-rules] accepts 10 attributes and refuses 11 (InvalidParameterValue)", async () => {
    const arn = topic();
    const attributes = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i}`, str("v")]));
    await publish({ TopicArn: arn, MessageAttributes: attributes(10) });
    expect(Object.keys(s.sns.messages(arn)[0]?.attributes ?? {})).toHaveLength(10);
    await expect(publish({ TopicArn: arn, MessageAttributes: attributes(11) })).rejects.toMatchObject({
      name: "InvalidParameterValueException",
      message: "Number of message attributes [11] exceeds the allowed maximum [10].",
      $metadata: { httpStatusCode: 400 },
    });
    expect(s.sns.messages(arn)).toHaveLength(1);
  });

  it.each<[string, Record<string, MessageAttributeValue>]>([
    ["an empty string value", { event: str("") }],
    ["no value at all", { event: { DataType: "String" } }],
    ["an unknown data type", { event: { DataType: "Text", StringValue: "x" } }],
    ["a number that is not one", { wave: { DataType: "Number", StringValue: "three" } }],
    [
      "a String.Array that is not a JSON array",
      { origins: { DataType: "String.Array", StringValue: "api" } },
    ],
    ["a name with a space", { "bad name": str("x") }],
    ["a name with two periods in a row", { "a..b": str("x") }],
    ["a name ending in a period", { "event.": str("x") }],
    ["a reserved AWS. prefix", { "AWS.event": str("x") }],
    ["a reserved Amazon. prefix", { "amazon.event": str("x") }],
  ])("refuses %s (InvalidParameterValue)", async (_, attributes) => {
    await refused(topic(), { MessageAttributes: attributes }, "InvalidParameterValueException");
  });

  it("accepts Binary attributes (recorded as base64) and custom type labels", async () => {
    const arn = topic();
    await publish({
      TopicArn: arn,
      MessageAttributes: {
        blob: { DataType: "Binary", BinaryValue: Buffer.from([1, 2, 3]) },
        ratio: { DataType: "Number.float", StringValue: "0.25" },
      },
    });
    expect(s.sns.messages(arn)[0]?.attributes).toEqual({ blob: "AQID", ratio: "0.25" });
  });
});

describe("server integration", () => {
  it("[sns.throttled] answers an injected throttle as SNS does (429 Throttled), which the SDK retries", async () => {
    const arn = topic();
    s.server.faults.inject({ service: "sns", operation: "Publish", kind: "throttle" });
    await expect(publish({ TopicArn: arn })).rejects.toMatchObject({
      name: "ThrottledException",
      $metadata: { httpStatusCode: 429 },
    });
    s.server.faults.inject({ service: "sns", operation: "Publish", kind: "throttle" });
    const out = await publish({ TopicArn: arn }, s.clients().sns);
    expect(out.$metadata.attempts).toBe(2);
    expect(s.sns.messages(arn)).toHaveLength(1);
  });
});
