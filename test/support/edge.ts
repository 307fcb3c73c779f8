/** The edge client for end-to-end tests; it lives in standins/edge.ts (the sandbox runs the same edge). */
export * from "../../standins/edge.ts";
