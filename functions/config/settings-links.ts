/**
 * The stage's settings as infra/ links them: to the workflow and POST /rotations (RotationSettings) and to
 * expiry tracking (TrackingSettings), parsed with the settings schema (settings.ts) at cold start.
 */
import * as z from "zod/mini";
import { DEFAULT_RENEW_BEFORE } from "../core/renewal.ts";
import { type AwsLocation, RESOURCE_LINKS, readLinks, type WiringSources } from "./links.ts";
import { IAM_ROLE_ARN, KMS_KEY_ARN, listOf, loose, text } from "./rules.ts";
import {
  privateCaArn,
  RenewBeforeSchema,
  RotationSettingsSchema,
  TrackingPolicySchema,
  TrustSchema,
} from "./settings.ts";
import { ViewerRevocationSettingsSchema, ViewerTrustDomainsSchema } from "./viewer-settings.ts";

/** The stage's settings as linked to the workflow and the API (RotationSettings) and to tracking. */
export const SETTINGS_LINKS = {
  /** The workflow's settings (infra/rotation.ts). */
  RotationSettings: loose({
    rotation: RotationSettingsSchema,
    trust: TrustSchema,
    /** Customer-managed KMS key the credential secrets are encrypted with. */
    credentialsKeyArn: text(KMS_KEY_ARN, "a KMS key ARN"),
    /** The workflow's role: the only principal the credential secrets' resource policy lets use their values. */
    workflowRoleArn: text(IAM_ROLE_ARN, "an IAM role ARN"),
    /**
     * Roles that may also read a credential secret's value (GetSecretValue only): the viewer CA migration
     * workflow's, when the stage has passthrough origins to prove (infra/viewer-migration.ts).
     */
    credentialReaderRoleArns: listOf(text(IAM_ROLE_ARN, "an IAM role ARN"), "IAM role ARNs"),
    /** With rotation.authorityArn: the CAs whose certificates are managed (the API refuses any other). */
    previousAuthorityArns: listOf(privateCaArn(), "Private CA ARNs"),
  }),
  /** Expiry tracking's settings (infra/tracking.ts). */
  TrackingSettings: z.extend(TrackingPolicySchema, {
    authorityArn: privateCaArn(),
    /** The same renewal policy as the workflow's. */
    renewBefore: z._default(RenewBeforeSchema, DEFAULT_RENEW_BEFORE),
    /** Where the scan's trust reconciliation publishes: the workflow's bundle object and secret. */
    trust: TrustSchema,
    /** The viewer trust domains: their CAs' own certificates are tracked for expiry too. */
    viewerTrustDomains: z._default(ViewerTrustDomainsSchema, []),
  }),
  /** The viewer CA migration's settings (infra/viewer-migration.ts): the stage's viewer trust domains. */
  ViewerSettings: loose({ domains: ViewerTrustDomainsSchema }),
  /** The viewer revocation list's store (infra/api.ts): the /viewer-revocations routes. */
  ViewerRevocationSettings: ViewerRevocationSettingsSchema,
} as const;

/** Every linked resource by name. */
export const LINKS = { ...RESOURCE_LINKS, ...SETTINGS_LINKS };

export type LinkName = keyof typeof LINKS;

/** readLinks over the named links. */
export function readNamedLinks<const N extends LinkName>(
  sources: WiringSources,
  names: readonly N[],
): { links: { [K in N]: z.output<(typeof LINKS)[K]> }; location: AwsLocation } {
  const schemas = Object.fromEntries(names.map((name) => [name, LINKS[name]])) as {
    [K in N]: (typeof LINKS)[K];
  };
  return readLinks(sources, schemas);
}

/** The CAs whose certificates are managed: the configured one (replacements come from it), then the previous ones. */
export function managedAuthorityArns(linked: {
  authorityArn: string;
  previousAuthorityArns: string[];
}): string[] {
  return [...new Set([linked.authorityArn, ...linked.previousAuthorityArns])];
}
