/**
 * The SNS adapter through the real `@aws-sdk/client-sns` against the SNS stand-in: one message per
 * notification with its subject, a JSON body and the attributes subscribers filter on; SNS's rules hold.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Notifier } from "../../functions/adapters/notifier.ts";
import {
  type Notification,
  NotificationEvent,
  rotationNotification,
} from "../../functions/core/notifications.ts";
import { foldEvents, type RotationState } from "../../functions/core/rotation.ts";
import { type Standins, startStandins } from "../../standins/index.ts";
import { NOW } from "../support/pki-fixtures.ts";

const CERT = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

let standins: Standins;
let counter = 0;

beforeAll(async () => {
  standins = await startStandins();
});

afterAll(async () => {
  await standins?.close();
});

/** A notifier on a topic of its own. */
function freshNotifier(): { notifier: Notifier; topicArn: string } {
  counter += 1;
  const topicArn = standins.sns.createTopic(`mtls-rotator-${counter}`);
  return { notifier: new Notifier(standins.clients({ maxAttempts: 1 }).sns, topicArn), topicArn };
}

function state(certificateArn = CERT): RotationState {
  return foldEvents("rot-1", [
    {
      type: "started",
      at: NOW.toISOString(),
      request: { certificateArn, serial: "0a", reason: "Due", actor: "scheduler" },
    },
  ]);
}

describe("Notifier.publish", () => {
  it("delivers subject, JSON body and the three filter attributes, and answers the MessageId", async () => {
    const { notifier, topicArn } = freshNotifier();
    const notification = rotationNotification("rotation-started", state(), { actor: "scheduler" });

    const messageId = await notifier.publish(notification);

    const [message, ...rest] = standins.sns.messages(topicArn);
    expect(rest).toEqual([]);
    expect(message!.messageId).toBe(messageId);
    expect(message!.subject).toBe(notification.subject);
    expect(JSON.parse(message!.message)).toEqual(JSON.parse(JSON.stringify(notification.body)));
    expect(message!.attributes).toEqual({
      event: "rotation-started",
      severity: "info",
      certificateArn: CERT,
    });
    expect(message!.attributeTypes).toEqual({
      event: "String",
      severity: "String",
      certificateArn: "String",
    });
  });

  it.each(Object.values(NotificationEvent))("%s: attributes match the notification", async (event) => {
    const { notifier, topicArn } = freshNotifier();
    const notification = rotationNotification(event, state(), { wave: 2 });
    await notifier.publish(notification);
    const [message] = standins.sns.messages(topicArn);
    expect(message!.attributes).toEqual({
      event,
      severity: notification.severity,
      certificateArn: CERT,
    });
    expect(JSON.parse(message!.message).event).toBe(event);
  });

  it("the subject of a very long, odd certificate ARN still passes SNS's subject rules", async () => {
    const { notifier, topicArn } = freshNotifier();
    const odd = `arn:aws:acm:us-east-1:111122223333:certificate/${"é\t".repeat(60)}${"x".repeat(80)}`;
    const notification = rotationNotification("rolled-back", state(odd));
    await notifier.publish(notification);
    const [message] = standins.sns.messages(topicArn);
    expect(message!.subject!.length).toBeLessThan(100);
    expect(message!.subject).toMatch(/^\[mtls-rotator\] rotation rolled back: e e e /);
    expect(message!.subject!.endsWith("...")).toBe(true);
    expect(message!.attributes.certificateArn).toBe(odd);
  });

  it("a subject that breaks SNS's rules is refused and nothing is delivered (the rule is real)", async () => {
    const { notifier, topicArn } = freshNotifier();
    const bad: Notification = {
      ...rotationNotification("rotation-started", state()),
      subject: "s".repeat(100),
    };
    await expect(notifier.publish(bad)).rejects.toMatchObject({ name: "InvalidParameterException" });
    expect(standins.sns.messages(topicArn)).toEqual([]);
  });

  it("an unknown topic is refused (NotFound)", async () => {
    const notifier = new Notifier(
      standins.clients({ maxAttempts: 1 }).sns,
      "arn:aws:sns:us-east-1:111122223333:no-such-topic",
    );
    await expect(notifier.publish(rotationNotification("drift-found", state()))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });
});
