/**
 * Wiring of the routes that change the viewer revocation list (POST /viewer-revocations, DELETE
 * /viewer-revocations/{serial}): the list (api-viewer-revocations.ts) and the notification topic their audit
 * notices go to.
 */
import { SNSClient } from "@aws-sdk/client-sns";
import { Notifier } from "../adapters/notifier.ts";
import type { ViewerRevocationDeps } from "../api/viewer-revocations.ts";
import { RESOURCE_LINKS, readLinks, type WiringSources } from "../config/links.ts";
import {
  type ViewerRevocationClients,
  type ViewerRevocationListConfig,
  viewerRevocationListConfig,
  viewerRevocationListOf,
} from "./api-viewer-revocations.ts";
import { clientConfig } from "./clients.ts";
import { deployed, oncePerColdStart } from "./cold-start.ts";
import { log } from "./observability.ts";

export interface ViewerRevocationWriteConfig extends ViewerRevocationListConfig {
  topicArn: string;
}

export function viewerRevocationWriteConfig(sources: WiringSources): ViewerRevocationWriteConfig {
  const { links } = readLinks(sources, { NotificationTopic: RESOURCE_LINKS.NotificationTopic });
  return { ...viewerRevocationListConfig(sources), topicArn: links.NotificationTopic.arn };
}

export function viewerRevocationWriteDepsFrom(
  config: ViewerRevocationWriteConfig,
  clients: ViewerRevocationClients & { sns?: SNSClient } = {},
): ViewerRevocationDeps {
  const list = viewerRevocationListOf(config, clients);
  return {
    ...(list ? { list } : {}),
    notifier: new Notifier(clients.sns ?? new SNSClient(clientConfig(config)), config.topicArn),
    now: clients.now ?? (() => new Date()),
    log,
  };
}

export const viewerRevocationWriteApiDeps = oncePerColdStart(async () =>
  viewerRevocationWriteDepsFrom(viewerRevocationWriteConfig(deployed())),
);
