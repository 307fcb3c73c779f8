/**
 * Realistic CloudFront DistributionConfigs for tests; the builder lives in standins/distribution-config.ts
 * (the sandbox creates its distributions with it).
 */
export * from "../../standins/distribution-config.ts";
