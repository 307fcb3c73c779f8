/** SNS adapter: one topic; subject, JSON body, and attributes subscribers filter on. */
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { Notification } from "../core/notifications.ts";

export class Notifier {
  readonly #client: SNSClient;
  readonly #topicArn: string;

  constructor(client: SNSClient, topicArn: string) {
    this.#client = client;
    this.#topicArn = topicArn;
  }

  async publish(notification: Notification): Promise<string | undefined> {
    const out = await this.#client.send(
      new PublishCommand({
        TopicArn: this.#topicArn,
        Subject: notification.subject,
        // Compact: the body is bounded (core/notifications.ts MAX_NOTIFICATION_BYTES) as compact JSON.
        Message: JSON.stringify(notification.body),
        MessageAttributes: {
          event: { DataType: "String", StringValue: notification.event },
          severity: { DataType: "String", StringValue: notification.severity },
          certificateArn: { DataType: "String", StringValue: notification.certificateArn },
        },
      }),
    );
    return out.MessageId;
  }
}
