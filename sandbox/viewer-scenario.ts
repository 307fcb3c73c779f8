/**
 * Sandbox scenarios of kind "viewer": a viewer CA migration (CA A -> CA B) on this machine, with viewers
 * reaching the distributions through the viewer edge the whole time (docs/sandbox.md, "Viewer scenarios").
 * Checked strictly before anything starts, with messages naming the path and the problem.
 */
import { z } from "zod";

const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const name = () => z.string().regex(NAME, { error: "must be 1-40 lowercase letters, digits or '-'" });

export const VIEWER_MODES = ["required", "optional", "passthrough"] as const;
export const VIEWER_MIGRATION_OUTCOMES = ["announced", "failed", "rolled-back", "refused"] as const;
export const VIEWER_NOTIFICATIONS = [
  "viewer-ca-ready",
  "viewer-migration-failed",
  "viewer-ca-retired",
] as const;
const AUTHORITY = z.enum(["authority", "nextAuthority"]);

const bundleExpectation = z.strictObject({
  contains: z.array(AUTHORITY).default([]),
  excludes: z.array(AUTHORITY).default([]),
});

export const viewerScenarioSchema = z
  .strictObject({
    kind: z.literal("viewer"),
    name: name(),
    description: z.string().max(1000).optional(),
    trustStores: z.array(name()).max(20).default([]),
    distributions: z
      .array(
        z.strictObject({
          name: name(),
          mode: z.enum(VIEWER_MODES),
          trustStore: name().optional(),
        }),
      )
      .min(1)
      .max(25),
    /** CA B's chain, root included: 2 by default; 5 is one more than CloudFront trust stores take. */
    nextAuthority: z
      .strictObject({ chainDepth: z.number().int().min(2).max(6).default(2) })
      .default({ chainDepth: 2 }),
    viewersPerDistribution: z.number().int().min(1).max(10).default(2),
    /** The domain's migration policy (config/viewer-settings.ts); short windows for a sandbox. */
    policy: z
      .strictObject({
        canaryTrustStores: z.number().int().min(0).max(20).default(1),
        proofTimeoutSeconds: z.number().int().min(1).max(600).default(30),
        proofIntervalSeconds: z.number().int().min(1).max(60).default(1),
      })
      .default({ canaryTrustStores: 1, proofTimeoutSeconds: 30, proofIntervalSeconds: 1 }),
    /**
     * When viewers switch to certificates from CA B: once "viewer CA ready" was announced (the rule), or at
     * the start, before any trust point trusts B (what the announcement exists to prevent: refusals).
     */
    moveViewersAt: z.enum(["announcement", "start"]).default("announcement"),
    /** How long traffic keeps going after the migration ended (viewers on their final CA). */
    afterSeconds: z.number().min(0).max(60).default(3),
    expect: z.strictObject({
      migration: z.enum(VIEWER_MIGRATION_OUTCOMES),
      reason: z.string().optional(),
      /** Viewer requests the edge or an origin refused, over the whole run. */
      maxRefusals: z.number().int().min(0).default(0),
      /** Which CA's viewers are on the air at the end ("nextAuthority": they moved after the announcement). */
      viewersEndOn: AUTHORITY,
      trustStores: bundleExpectation.optional(),
      passthroughBundle: bundleExpectation.optional(),
      notifications: z.array(z.enum(VIEWER_NOTIFICATIONS)).optional(),
      viewerCaReadyEvent: z.boolean().optional(),
    }),
  })
  .superRefine((scenario, ctx) => {
    const stores = new Set(scenario.trustStores);
    const names = new Set<string>();
    scenario.distributions.forEach((d, i) => {
      if (names.has(d.name))
        ctx.addIssue({
          code: "custom",
          path: ["distributions", i, "name"],
          message: `${d.name} is named twice`,
        });
      names.add(d.name);
      if (d.mode === "passthrough" && d.trustStore)
        ctx.addIssue({
          code: "custom",
          path: ["distributions", i, "trustStore"],
          message:
            "a passthrough distribution takes no trust store (CloudFront forwards the certificate instead)",
        });
      if (d.mode !== "passthrough" && (!d.trustStore || !stores.has(d.trustStore)))
        ctx.addIssue({
          code: "custom",
          path: ["distributions", i, "trustStore"],
          message: `mode ${d.mode} needs one of the scenario's trustStores (${[...stores].join(", ") || "none"})`,
        });
    });
  });

export type ViewerScenario = z.infer<typeof viewerScenarioSchema>;

/** Whether a parsed scenario document is of kind "viewer". */
export function isViewerScenarioDocument(document: unknown): boolean {
  return (
    typeof document === "object" && document !== null && (document as { kind?: unknown }).kind === "viewer"
  );
}

/** The scenario, or the problems, each as `path: message`. */
export function parseViewerScenario(
  document: unknown,
): { ok: true; scenario: ViewerScenario } | { ok: false; problems: string[] } {
  const parsed = viewerScenarioSchema.safeParse(document);
  if (parsed.success) return { ok: true, scenario: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => `${issue.path.join(".") || "(scenario)"}: ${issue.message}`),
  };
}
