/**
 * SNS, moto against our stand-in: topics and Publish as the notifier (functions/adapters/notifier.ts) uses
 * them. Compared: what is accepted and what refused (error code, HTTP status), and what the topic stored —
 * subject, message and message attributes (type and value) — read from moto's /moto-api/data.json and from
 * the stand-in's record.
 */
import {
  CreateTopicCommand,
  type MessageAttributeValue,
  PublishCommand,
  type PublishCommandInput,
} from "@aws-sdk/client-sns";
import { describe } from "vitest";
import { Notifier } from "../../functions/adapters/notifier.ts";
import { certificateNotification } from "../../functions/core/notifications.ts";
import { type ScenarioContext, useDifferential } from "../support/differential.ts";

const { differential } = useDifferential();

const CERT = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const LIMIT = 262_144;

async function topic(ctx: ScenarioContext): Promise<string> {
  const out = await ctx.observe(
    "CreateTopic",
    ctx.clients.sns.send(new CreateTopicCommand({ Name: ctx.name("events") })),
  );
  if (!out?.TopicArn) throw new Error("CreateTopic answered no TopicArn");
  return out.TopicArn;
}

/** Publish; only whether it was accepted counts (MessageIds are random on both). */
function publish(ctx: ScenarioContext, step: string, input: PublishCommandInput & { TopicArn: string }) {
  return ctx.observe(step, ctx.clients.sns.send(new PublishCommand(input)), (out) => ({
    accepted: typeof out.MessageId === "string" && out.MessageId.length > 0,
  }));
}

const str = (value: string): MessageAttributeValue => ({ DataType: "String", StringValue: value });

async function stored(ctx: ScenarioContext, topicArn: string): Promise<void> {
  ctx.record("stored messages", await ctx.publishedMessages(topicArn));
}

describe("accepted messages, as stored", () => {
  differential(
    "Notifier.publish: subject, JSON body and the event / severity / certificateArn attributes",
    async (ctx) => {
      const arn = await topic(ctx);
      const notifier = new Notifier(ctx.clients.sns, arn);
      const expiring = certificateNotification(
        "certificate-expiring",
        CERT,
        "certificate expires in 14 days",
        {
          daysToExpiry: 14,
        },
      );
      // A headline long enough that toSubject() cuts the subject to 99 characters.
      const drift = certificateNotification(
        "drift-found",
        CERT,
        `drift found on ${"distribution ".repeat(8)}`,
        {
          distributions: ["E1", "E2"],
        },
      );
      ctx.record("publish certificate-expiring", typeof (await notifier.publish(expiring)) === "string");
      ctx.record(
        "publish drift-found (subject cut to 99)",
        typeof (await notifier.publish(drift)) === "string",
      );
      ctx.record("subject lengths", [expiring.subject.length, drift.subject.length]);
      await stored(ctx, arn);
    },
  );

  differential(
    "attribute data types: String, Number, String.Array, Binary and custom labels",
    async (ctx) => {
      const arn = await topic(ctx);
      await publish(ctx, "publish", {
        TopicArn: arn,
        Message: '{"event":"rotation-started"}',
        Subject: "[mtls-rotator] rotation started",
        MessageAttributes: {
          event: str("rotation-started"),
          wave: { DataType: "Number", StringValue: "3" },
          ratio: { DataType: "Number", StringValue: "-1.5e3" },
          distributions: { DataType: "String.Array", StringValue: '["E1","E2",3,true,null]' },
          digest: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 2, 253, 254, 255]) },
          "custom.label": { DataType: "String.mtls", StringValue: "x" },
          "Dots.And-Dashes_ok": { DataType: "Number.int", StringValue: "42" },
        },
      });
      await stored(ctx, arn);
    },
  );

  differential("subjects: 99 characters, punctuation first, inner spaces; no subject at all", async (ctx) => {
    const arn = await topic(ctx);
    await publish(ctx, "subject of 99 characters", { TopicArn: arn, Message: "m1", Subject: "s".repeat(99) });
    await publish(ctx, "subject starting with punctuation", {
      TopicArn: arn,
      Message: "m2",
      Subject: "[x] a  b",
    });
    await publish(ctx, "no subject", { TopicArn: arn, Message: "m3" });
    await stored(ctx, arn);
  });

  differential(
    "a message of exactly 262,144 bytes is accepted, one byte more is refused (InvalidParameter)",
    async (ctx) => {
      const arn = await topic(ctx);
      await publish(ctx, "262,144 bytes", { TopicArn: arn, Message: "x".repeat(LIMIT) });
      await publish(ctx, "262,145 bytes", { TopicArn: arn, Message: "x".repeat(LIMIT + 1) });
      const messages = await ctx.publishedMessages(arn);
      ctx.record(
        "stored sizes",
        messages.map((m) => m.message.length),
      );
    },
  );

  differential(
    "CreateTopic is idempotent; Publish to a topic that does not exist is NotFound (404)",
    async (ctx) => {
      const arn = await topic(ctx);
      await ctx.observe(
        "CreateTopic again",
        ctx.clients.sns.send(new CreateTopicCommand({ Name: ctx.name("events") })),
      );
      await publish(ctx, "publish to a missing topic", { TopicArn: `${arn}-missing`, Message: "m" });
      await ctx.observe(
        "CreateTopic with an invalid name",
        ctx.clients.sns.send(new CreateTopicCommand({ Name: "no spaces allowed" })),
      );
    },
  );

  differential("10 message attributes are accepted", async (ctx) => {
    const arn = await topic(ctx);
    const attributes = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`a${i}`, str(`v${i}`)]));
    await publish(ctx, "10 attributes", { TopicArn: arn, Message: "m", MessageAttributes: attributes });
    await stored(ctx, arn);
  });

  differential(
    "11 message attributes",
    async (ctx) => {
      const arn = await topic(ctx);
      const attributes = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`a${i}`, str(`v${i}`)]));
      await publish(ctx, "11 attributes", { TopicArn: arn, Message: "m", MessageAttributes: attributes });
    },
    { unsettled: "sns.more-than-10-attributes" },
  );
});

describe("refused messages", () => {
  differential(
    "a subject of 100 characters or with a line break is refused (InvalidParameter)",
    async (ctx) => {
      const arn = await topic(ctx);
      await publish(ctx, "subject of 100 characters", {
        TopicArn: arn,
        Message: "m",
        Subject: "s".repeat(100),
      });
      await publish(ctx, "subject with a line break", { TopicArn: arn, Message: "m", Subject: "a\nb" });
      await publish(ctx, "subject with a tab", { TopicArn: arn, Message: "m", Subject: "a\tb" });
      await stored(ctx, arn);
    },
    { deviation: "sns.subject-not-validated" },
  );

  differential(
    "invalid attribute names are refused (ParameterValueInvalid)",
    async (ctx) => {
      const arn = await topic(ctx);
      for (const name of [
        "has space",
        ".leading",
        "trailing.",
        "two..dots",
        "AWS.reserved",
        "amazon.reserved",
      ]) {
        await publish(ctx, `attribute named ${JSON.stringify(name)}`, {
          TopicArn: arn,
          Message: "m",
          MessageAttributes: { [name]: str("v") },
        });
      }
    },
    { deviation: "sns.attribute-names-not-validated" },
  );

  differential(
    "attribute values that do not fit their type are refused (ParameterValueInvalid)",
    async (ctx) => {
      const arn = await topic(ctx);
      await publish(ctx, "Number that is not a number", {
        TopicArn: arn,
        Message: "m",
        MessageAttributes: { n: { DataType: "Number", StringValue: "twelve" } },
      });
      await publish(ctx, "an empty String value", {
        TopicArn: arn,
        Message: "m",
        MessageAttributes: { s: str("") },
      });
      await publish(ctx, "an empty Binary value", {
        TopicArn: arn,
        Message: "m",
        MessageAttributes: { b: { DataType: "Binary", BinaryValue: new Uint8Array() } },
      });
      await publish(ctx, "an unknown data type", {
        TopicArn: arn,
        Message: "m",
        MessageAttributes: { s: { DataType: "Text", StringValue: "v" } },
      });
    },
    { deviation: "sns.parameter-value-invalid-code" },
  );

  differential(
    "the size limit counts bytes, and the message attributes with the body",
    async (ctx) => {
      const arn = await topic(ctx);
      // 131,073 two-byte characters: 262,146 bytes, fewer than 262,144 characters.
      await publish(ctx, "262,146 bytes of two-byte characters", {
        TopicArn: arn,
        Message: "é".repeat(LIMIT / 2 + 1),
      });
      await publish(ctx, "a body of 262,144 bytes with an attribute", {
        TopicArn: arn,
        Message: "x".repeat(LIMIT),
        MessageAttributes: { event: str("rotation-started") },
      });
    },
    { deviation: "sns.message-size-counts-characters" },
  );

  differential(
    "subjects in UTF-8 beyond ASCII, or beginning with a space",
    async (ctx) => {
      const arn = await topic(ctx);
      await publish(ctx, "subject café", { TopicArn: arn, Message: "m", Subject: "café" });
      await publish(ctx, "subject beginning with a space", { TopicArn: arn, Message: "m", Subject: " x" });
    },
    { unsettled: "sns.subject-non-ascii-or-leading-space" },
  );

  differential(
    "MessageStructure other than json is refused (InvalidParameter); json with a default is accepted",
    async (ctx) => {
      const arn = await topic(ctx);
      await publish(ctx, "json with a default", {
        TopicArn: arn,
        Message: '{"default":"x"}',
        MessageStructure: "json",
      });
      await publish(ctx, "MessageStructure xml", {
        TopicArn: arn,
        Message: '{"default":"x"}',
        MessageStructure: "xml",
      });
    },
  );

  differential(
    "MessageStructure json needs a JSON object with a string default",
    async (ctx) => {
      const arn = await topic(ctx);
      await publish(ctx, "not JSON", { TopicArn: arn, Message: "nope", MessageStructure: "json" });
      await publish(ctx, "no default", { TopicArn: arn, Message: '{"email":"x"}', MessageStructure: "json" });
    },
    { deviation: "sns.message-structure-unchecked" },
  );

  differential(
    "Publish to a topic ARN of another region",
    async (ctx) => {
      const arn = await topic(ctx);
      await publish(ctx, "eu-west-1 ARN on a us-east-1 endpoint", {
        TopicArn: arn.replace(":us-east-1:", ":eu-west-1:"),
        Message: "m",
      });
    },
    { unsettled: "sns.topic-in-another-region" },
  );

  differential(
    "an empty message is refused (InvalidParameter)",
    async (ctx) => {
      const arn = await topic(ctx);
      await publish(ctx, "empty message", { TopicArn: arn, Message: "" });
    },
    { deviation: "sns.empty-message-accepted" },
  );
});
