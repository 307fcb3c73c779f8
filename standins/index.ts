/**
 * All AWS stand-ins behind one loopback endpoint, wired to each other as AWS wires the real services:
 * CloudFront checks origin-mTLS ARNs against ACM; ACM refuses to delete a certificate CloudFront uses.
 */
import { type AwsClientSettings, type AwsClients, createAwsClients } from "../functions/adapters/clients.ts";
import { AcmStandin } from "./acm.ts";
import { CloudFrontStandin } from "./cloudfront.ts";
import { PrivateCaStandin, type PrivateCaStandinOptions } from "./private-ca.ts";
import { ACCOUNT_ID } from "./protocol.ts";
import { SecretsManagerStandin } from "./secrets-manager.ts";
import { StandinServer, type StandinServerOptions } from "./server.ts";

export interface StandinsOptions extends StandinServerOptions {
  /** Clock for validity checks and state transitions. */
  now?: () => Date;
  /** CloudFront: how long a change stays InProgress. */
  deployDelayMs?: number;
  privateCa?: Omit<PrivateCaStandinOptions, "now">;
  acmImportsPerSecond?: number;
}

export interface Standins {
  server: StandinServer;
  endpoint: string;
  acm: AcmStandin;
  privateCa: PrivateCaStandin;
  cloudfront: CloudFrontStandin;
  secrets: SecretsManagerStandin;
  /** Real SDK clients pointed at the stand-ins. */
  clients(overrides?: Partial<AwsClientSettings>): AwsClients;
  close(): Promise<void>;
}

export const STANDIN_CREDENTIALS = { accessKeyId: "AKIASTANDIN000000000", secretAccessKey: "standin-secret" };

export async function startStandins(options: StandinsOptions = {}): Promise<Standins> {
  const now = options.now ?? (() => new Date());
  const acm = new AcmStandin({ now, importsPerSecond: options.acmImportsPerSecond });
  const cloudfront = new CloudFrontStandin({
    certificates: { describe: (arn) => acm.describeForCloudFront(arn) },
    deployDelayMs: options.deployDelayMs,
    now: () => now().getTime(),
  });
  acm.inUseBy = (arn) =>
    cloudfront
      .distributionsReferencing(arn)
      .map((id) => `arn:aws:cloudfront::${ACCOUNT_ID}:distribution/${id}`);
  const privateCa = new PrivateCaStandin({ ...options.privateCa, now });
  const secrets = new SecretsManagerStandin({ now });
  const server = new StandinServer([acm, privateCa, cloudfront, secrets], options);
  const endpoint = await server.listen();
  return {
    server,
    endpoint,
    acm,
    privateCa,
    cloudfront,
    secrets,
    clients: (overrides = {}) =>
      createAwsClients({ region: "us-east-1", endpoint, credentials: STANDIN_CREDENTIALS, ...overrides }),
    close: () => server.close(),
  };
}
