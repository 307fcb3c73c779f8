/** The Private CA clients of a function: one per region (a CA being migrated away from may live elsewhere). */
import { ACMPCAClient } from "@aws-sdk/client-acm-pca";
import { type ClientSettings, clientConfig } from "./clients.ts";

/** The Private CA client of `region`, built on its first use and kept. */
export function privateCaClients(settings: ClientSettings): (region: string) => ACMPCAClient {
  const clients = new Map<string, ACMPCAClient>();
  return (region) => {
    let client = clients.get(region);
    if (!client) {
      client = new ACMPCAClient(clientConfig(settings, region));
      clients.set(region, client);
    }
    return client;
  };
}
