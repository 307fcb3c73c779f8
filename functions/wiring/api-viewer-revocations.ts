/**
 * Wiring of the viewer revocation list for its routes (GET /viewer-revocations/{serial} here; the writing
 * routes add their notifier in api-viewer-revocation-writes.ts): the stage's revocation store
 * (ViewerRevocationSettings, checked at cold start with the rule the deploy checked it with, its endpoint
 * derived by AWS's endpoint rules), read and written through the KeyValueStore data plane signed with SigV4A
 * by the execution role's credentials. No SDK client. Without a store the routes answer 409 and touch nothing.
 */
import { environmentCredentials } from "../adapters/signed-table.ts";
import type { AwsCredentials } from "../adapters/sigv4.ts";
import {
  keyValueStoreEndpoint,
  keyValueStoreHttpSend,
  keyValueStoreSigner,
  ViewerRevocations,
} from "../adapters/viewer-revocations.ts";
import type { ViewerRevocationDeps } from "../api/viewer-revocations.ts";
import type { AwsLocation, WiringSources } from "../config/links.ts";
import { readNamedLinks } from "../config/settings-links.ts";
import { deployed, oncePerColdStart } from "./cold-start.ts";

export interface ViewerRevocationListConfig extends AwsLocation {
  /** The revocation store; absent when the stage configures none. */
  storeArn?: string;
  /** Its data-plane endpoint (AWS's endpoint rules), or the local stand-ins' endpoint. */
  storeEndpoint?: string;
}

/** The store as linked (ViewerRevocationSettings); an ARN that breaks the endpoint rules fails the cold start. */
export function viewerRevocationListConfig(sources: WiringSources): ViewerRevocationListConfig {
  const { links, location } = readNamedLinks(sources, ["ViewerRevocationSettings"]);
  const storeArn = links.ViewerRevocationSettings.storeArn;
  return {
    ...location,
    ...(storeArn ? { storeArn, storeEndpoint: location.endpoint ?? keyValueStoreEndpoint(storeArn) } : {}),
  };
}

export interface ViewerRevocationClients {
  /** The environment's (the execution role's) when absent. */
  credentials?: () => Promise<AwsCredentials>;
  fetch?: typeof fetch;
  now?: () => Date;
}

/** The list over the configured store, or undefined when the stage configures none. */
export function viewerRevocationListOf(
  config: ViewerRevocationListConfig,
  clients: ViewerRevocationClients = {},
): ViewerRevocationDeps["list"] {
  if (!config.storeArn || !config.storeEndpoint) return undefined;
  const now = clients.now ?? (() => new Date());
  return {
    storeArn: config.storeArn,
    revocations: new ViewerRevocations({
      storeArn: config.storeArn,
      now,
      send: keyValueStoreHttpSend({
        endpoint: config.storeEndpoint,
        sign: keyValueStoreSigner(clients.credentials ?? (async () => environmentCredentials()), now),
        ...(clients.fetch ? { fetch: clients.fetch } : {}),
      }),
    }),
  };
}

/** GET /viewer-revocations/{serial}: the list only. */
export function viewerRevocationReadDepsFrom(
  config: ViewerRevocationListConfig,
  clients: ViewerRevocationClients = {},
): Pick<ViewerRevocationDeps, "list"> {
  const list = viewerRevocationListOf(config, clients);
  return list ? { list } : {};
}

export const viewerRevocationReadApiDeps = oncePerColdStart(async () =>
  viewerRevocationReadDepsFrom(viewerRevocationListConfig(deployed())),
);
