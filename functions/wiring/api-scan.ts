/** Wiring of POST /scan: an asynchronous invoke of the scheduled scan's function (linked as ScanFunction). */
import { LambdaClient } from "@aws-sdk/client-lambda";
import { lambdaScanTrigger, type ScanApiDeps } from "../api/scan-request.ts";
import { type AwsLocation, RESOURCE_LINKS, readLinks, type WiringSources } from "../config/links.ts";
import { clientConfig } from "./clients.ts";
import { deployed, oncePerColdStart } from "./cold-start.ts";

export interface ScanApiConfig extends AwsLocation {
  functionName: string;
}

export function scanApiConfig(sources: WiringSources): ScanApiConfig {
  const { links, location } = readLinks(sources, { ScanFunction: RESOURCE_LINKS.ScanFunction });
  return { ...location, functionName: links.ScanFunction.name };
}

export function scanApiDepsFrom(config: ScanApiConfig, clients: { lambda?: LambdaClient } = {}): ScanApiDeps {
  return {
    scan: lambdaScanTrigger(clients.lambda ?? new LambdaClient(clientConfig(config)), config.functionName),
  };
}

export const scanApiDeps = oncePerColdStart(async () => scanApiDepsFrom(scanApiConfig(deployed())));
