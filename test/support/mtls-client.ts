/** The one-shot mTLS request for tests; it lives in standins/mtls-client.ts (the edge and the sandbox use it). */
export * from "../../standins/mtls-client.ts";
