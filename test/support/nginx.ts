/**
 * Real nginx mTLS origins for tests. The harness itself lives in standins/nginx-origin.ts (the sandbox runs
 * the same origins); this module keeps the tests' import path.
 */
export * from "../../standins/nginx-origin.ts";
