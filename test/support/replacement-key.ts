/** The plan's replacement key when an EC P-256 CA replaces an EC P-256 certificate: the fixtures' usual case. */
import type { PlannedReplacementKey } from "../../functions/core/certificate.ts";

export const UNCHANGED_EC_KEY: PlannedReplacementKey = {
  keyAlgorithm: "EC_prime256v1",
  reason: "SameAsCa",
  caKeyAlgorithm: "EC_prime256v1",
  inServiceKeyAlgorithm: "EC_prime256v1",
  message: "EC_prime256v1 (follows CA key EC_prime256v1; unchanged)",
};
