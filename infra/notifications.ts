// Notifications: one SNS topic (messages carry `event`, `severity`, `certificateArn` attributes to filter on)
// and an email subscription per address in the stage's settings (each address must confirm).
import { createHash } from "node:crypto";
import { settings } from "./settings";

export const notificationTopic = new sst.aws.SnsTopic("Notifications");

export const emailSubscriptions = settings.notifications.emails.map(
  (email) =>
    // Named after the address (not its position), so editing the list never re-creates other subscriptions.
    new aws.sns.TopicSubscription(
      `NotificationEmail${createHash("sha256").update(email).digest("hex").slice(0, 12)}`,
      { topic: notificationTopic.arn, protocol: "email", endpoint: email },
    ),
);

/** What functions link: the ARN only; `sns:Publish` is granted per function (infra/rotation.ts). */
export const notificationTopicLink = new sst.Linkable("NotificationTopic", {
  properties: { arn: notificationTopic.arn },
});
