/**
 * Lambda's control plane on the wire, for the adapters that call it with SST's signed fetch
 * (functions/adapters/durable-starts.ts, durable-callbacks.ts): a stubbed `fetch` that records each request
 * and answers as told, and a request read back as Lambda would and checked against its published model.
 */
import { vi } from "vitest";
import { serviceCheck } from "../../standins/model/checks.ts";

/** Credentials and region the adapters sign with in these tests (never sent anywhere: fetch is stubbed). */
export const TEST_AWS = {
  accessKeyId: "AKIAEXAMPLEEXAMPLE00",
  secretAccessKey: "secret/example/key",
  region: "us-east-2",
};

/** Stubs the global fetch (undo with vi.unstubAllGlobals()); every request it saw, in order. */
export function stubLambda(answer: () => Response): Request[] {
  const seen: Request[] = [];
  vi.stubGlobal("fetch", async (input: Request | string, init?: RequestInit) => {
    seen.push(input instanceof Request ? input : new Request(input, init));
    return answer();
  });
  return seen;
}

/** The request as Lambda's model reads it (operation input); throws Lambda's refusal if the model does not allow it. */
export async function lambdaInputOf(operation: string, request: Request): Promise<Record<string, unknown>> {
  const url = new URL(request.url);
  const body = await request.clone().text();
  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => {
    headers[key] = value;
  });
  return serviceCheck("lambda").checkRequest(operation, "rest-json", {
    method: request.method,
    path: decodeURIComponent(url.pathname),
    query: url.searchParams,
    headers,
    body,
    bytes: new TextEncoder().encode(body),
  });
}
