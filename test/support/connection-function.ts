/**
 * Runs a shipped CloudFront connection function in Node, as the cloudfront-js-2.0 runtime would: the file as
 * shipped, in its own V8 context (node:vm) whose `cloudfront` module is a stand-in handing out the store
 * the test gives (`cf.kvs()`), and a `connection` object with `clientCertInfo`, `allow()` and `deny()`.
 *
 * Module loading: the runtime's only import is `import cf from "cloudfront"`. vm's module API needs a Node
 * flag, so the harness removes that one line and binds `cf` in the context instead; any other import or
 * export in the file is refused, because the runtime could not load it either.
 */
import { readFileSync } from "node:fs";
import { createContext, runInContext } from "node:vm";
import type { EdgeKeyValueReader } from "../../standins/cloudfront-keyvaluestore.ts";

const CLOUDFRONT_IMPORT = /^import cf from ["']cloudfront["'];\s*$/m;

export type ConnectionDecision = "allow" | "deny";

/** The certificate facts CloudFront passes (documented: `clientCertInfo.serialNumber`). */
export interface ClientCertInfo {
  serialNumber?: string;
  [field: string]: unknown;
}

export interface LoadedConnectionFunction {
  /** Runs the handler for one connection; answers what it decided and what it logged. */
  connect(
    clientCertInfo: ClientCertInfo | undefined,
  ): Promise<{ decision: ConnectionDecision; logs: string[] }>;
}

/** Loads `path` (a connection function file) against `store` as its associated KeyValueStore. */
export function loadConnectionFunction(path: string, store: EdgeKeyValueReader): LoadedConnectionFunction {
  const source = readFileSync(path, "utf8");
  if (!CLOUDFRONT_IMPORT.test(source)) throw new Error(`${path} does not import cf from "cloudfront"`);
  const body = source.replace(CLOUDFRONT_IMPORT, "");
  if (/^\s*(import|export)\b/m.test(body)) {
    throw new Error(`${path} imports or exports something besides 'cloudfront'`);
  }
  const logs: string[] = [];
  const context = createContext({
    cf: { kvs: () => store },
    console: { log: (...parts: unknown[]) => logs.push(parts.map(String).join(" ")) },
  });
  runInContext(body, context, { filename: path });
  const handler = context.connectionHandler as unknown;
  if (typeof handler !== "function") throw new Error(`${path} defines no connectionHandler`);
  return {
    async connect(clientCertInfo) {
      logs.length = 0;
      const decisions: ConnectionDecision[] = [];
      const connection = {
        clientCertInfo,
        allow: () => decisions.push("allow"),
        deny: () => decisions.push("deny"),
      };
      await (handler as (c: typeof connection) => Promise<unknown>)(connection);
      // Exactly one decision per connection: none, or both, is a defect of the function.
      if (decisions.length !== 1) throw new Error(`the function decided ${decisions.length} times`);
      return { decision: decisions[0]!, logs: [...logs] };
    },
  };
}
