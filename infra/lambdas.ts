// Every Lambda function the infra declares, as plain data: its handler, the infra's name for it, what kind
// of function it is and so its bundle budget, and the `nodejs` options every one of them is built with.
// infra/rotation.ts, infra/tracking.ts and infra/api.ts take their handlers and `nodejs` from here;
// `npm run bench:lambdas` (scripts/bench-lambdas.ts) and test/infra/lambda-bundles.test.ts bundle exactly
// these. No SST globals and no imports: Node, the tests and SST's config all load it as it is.

/**
 * What a function does, which decides its budget:
 * - `read`: a GET route, answers from the table;
 * - `answer`: a route that reads and answers a durable callback or invokes a function (approve, rollback,
 *   POST /scan, POST /viewer-migrations: the viewer migration plans in its workflow, not in the route),
 *   or reads the viewer revocation list (GET /viewer-revocations/{serial}: a signed fetch, no
 *   table) or changes it and publishes its audit notice (POST and DELETE /viewer-revocations);
 * - `start`: POST /rotations (plans and starts a rotation);
 * - `scan`: the scheduled scan, the ACM expiry event and the trust reconciliation the scan invokes;
 * - `workflow`: the rotation workflow and the viewer CA migration workflow (durable executions).
 */
export type LambdaKind = "read" | "answer" | "start" | "scan" | "workflow";

export interface LambdaBudget {
  /** Raw bytes of the bundle (the .mjs, without its source map). */
  maxBytes: number;
  /** Cold import time (fresh `node` process importing the bundle) at most this many times an empty handler's. */
  maxImportRatio?: number;
}

const KiB = 1024;

/**
 * Issue 10's targets: a GET route ≤ 400 KB and ≤ 3× an empty handler's import time; POST /rotations, the
 * scan and the expiry event ≤ 900 KB; the workflow ≤ 1.5 MB. The issue sets none for approve/rollback and
 * POST /scan: they are held to a read route's size (two small clients at most), without a time target.
 * The workflow's budget is 1,600 KiB since issue 12 (it was 1,536 KiB, reached at 1,527): a plan read back in
 * pages, bounded gate results, the account-wide issuance pacer and the undelivered-notification counter took it
 * to ~1,540-1,560 KiB. A budget, not an AWS limit (Lambda takes 50 MB zipped); its cold import is what the
 * bench measures.
 */
export const LAMBDA_BUDGETS: Record<LambdaKind, LambdaBudget> = {
  read: { maxBytes: 400 * KiB, maxImportRatio: 3 },
  answer: { maxBytes: 400 * KiB },
  start: { maxBytes: 900 * KiB },
  scan: { maxBytes: 900 * KiB },
  workflow: { maxBytes: 1600 * KiB },
};

/**
 * SST's `nodejs` options of every function (the same object for each). SST builds with esbuild (its Go
 * API) and minifies and writes a source map only when asked (pkg/runtime/node/build.go).
 * `plugins` is relative to sst.config.ts.
 */
export const LAMBDA_NODEJS = {
  minify: true,
  sourcemap: true,
  plugins: "infra/lambda-plugins.mjs",
};

/** `name` is the infra's: the component's name, or the API route's key. */
export const LAMBDAS = [
  {
    name: "RotationWorkflow",
    handler: "functions/handlers/rotation-workflow.handler",
    kind: "workflow",
  },
  {
    name: "ViewerMigrationWorkflow",
    handler: "functions/handlers/viewer-migration-workflow.handler",
    kind: "workflow",
  },
  { name: "TrackingScan", handler: "functions/handlers/scan.handler", kind: "scan" },
  { name: "AcmExpiryEvent", handler: "functions/handlers/acm-expiry-event.handler", kind: "scan" },
  {
    name: "TrustReconciliation",
    handler: "functions/handlers/trust-reconciliation.handler",
    kind: "scan",
  },
  {
    name: "GET /certificates",
    handler: "functions/handlers/api/list-certificates.handler",
    kind: "read",
  },
  {
    name: "GET /certificates/{id}",
    handler: "functions/handlers/api/get-certificate.handler",
    kind: "read",
  },
  { name: "POST /rotations", handler: "functions/handlers/api/start-rotation.handler", kind: "start" },
  { name: "GET /rotations", handler: "functions/handlers/api/list-rotations.handler", kind: "read" },
  { name: "GET /rotations/{id}", handler: "functions/handlers/api/get-rotation.handler", kind: "read" },
  {
    name: "POST /rotations/{id}/rollback",
    handler: "functions/handlers/api/rollback-rotation.handler",
    kind: "answer",
  },
  {
    name: "POST /rotations/{id}/approve",
    handler: "functions/handlers/api/approve-rotation.handler",
    kind: "answer",
  },
  { name: "POST /scan", handler: "functions/handlers/api/start-scan.handler", kind: "answer" },
  {
    name: "POST /viewer-revocations",
    handler: "functions/handlers/api/revoke-viewer.handler",
    kind: "answer",
  },
  {
    name: "GET /viewer-revocations/{serial}",
    handler: "functions/handlers/api/get-viewer-revocation.handler",
    kind: "answer",
  },
  {
    name: "DELETE /viewer-revocations/{serial}",
    handler: "functions/handlers/api/reinstate-viewer.handler",
    kind: "answer",
  },
  {
    name: "POST /viewer-migrations",
    handler: "functions/handlers/api/start-viewer-migration.handler",
    kind: "answer",
  },
  {
    name: "GET /viewer-migrations",
    handler: "functions/handlers/api/list-viewer-migrations.handler",
    kind: "read",
  },
  {
    name: "GET /viewer-migrations/{id}",
    handler: "functions/handlers/api/get-viewer-migration.handler",
    kind: "read",
  },
  {
    name: "POST /viewer-migrations/{id}/approve",
    handler: "functions/handlers/api/approve-viewer-migration.handler",
    kind: "answer",
  },
  {
    name: "POST /viewer-migrations/{id}/rollback",
    handler: "functions/handlers/api/rollback-viewer-migration.handler",
    kind: "answer",
  },
  {
    name: "GET /viewer-mtls",
    handler: "functions/handlers/api/get-viewer-mtls.handler",
    kind: "read",
  },
] as const satisfies readonly { name: string; handler: string; kind: LambdaKind }[];

export type LambdaName = (typeof LAMBDAS)[number]["name"];
export type LambdaEntry = (typeof LAMBDAS)[number];

/** The handler string of the function the infra calls `name`. */
export function lambdaHandler(name: LambdaName): string {
  const entry = LAMBDAS.find((lambda) => lambda.name === name);
  if (!entry) throw new Error(`infra/lambdas.ts: no Lambda entry named ${name}`);
  return entry.handler;
}
