/**
 * What the CLI tests run against: the SigV4-verifying HTTP API stand-in with route handlers that answer as
 * the API contract says (functions/api/), over an in-memory backend; certificates as the inventory lists
 * them; rotations as event lists a real workflow records, folded by the core (foldEvents) into the states
 * the API returns.
 */

import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, beforeAll, beforeEach } from "vitest";
import * as z from "zod/mini";
import type { RevocationRecord } from "../../functions/adapters/viewer-revocations.ts";
import { ErrorAnswer, ROUTE_ANSWERS } from "../../functions/api/answers.ts";
import { historyView, rotationView } from "../../functions/api/rotations.ts";
import { DEFAULT_CERTIFICATE_PAGE, MAX_CERTIFICATE_PAGE, ROUTES } from "../../functions/api/schemas.ts";
import type { ViewerRevocationDeps } from "../../functions/api/viewer-revocations.ts";
import type {
  CertificateView,
  RotationAnswer,
  RotationPlanView,
  StartRotationBody,
  StartViewerMigrationBody,
  ViewerMigrationAnswer,
  ViewerMtlsAnswer,
} from "../../functions/cli/api-types.ts";
import { OPERATOR_COMMANDS, type OperatorEnvironment, runOperatorCommand } from "../../functions/cli/main.ts";
import { type ReplacementKeyChoice, replacementKeyFor } from "../../functions/core/certificate.ts";
import type { Notification } from "../../functions/core/notifications.ts";
import { sha256Hex } from "../../functions/core/pem.ts";
import {
  foldEvents,
  type GateResult,
  type RotationEvent,
  rotationIdFor,
  TERMINAL_STATUSES,
} from "../../functions/core/rotation.ts";
import {
  applyViewerEvent,
  initialViewerState,
  type ViewerMigrationEvent,
  type ViewerMigrationRequest,
} from "../../functions/core/viewer-migration.ts";
import { normalViewerSerial } from "../../functions/core/viewer-serial.ts";
import { planWaves } from "../../functions/core/waves.ts";
import { getViewerRevocationHandler } from "../../functions/handlers/api/get-viewer-revocation.ts";
import { reinstateViewerHandler } from "../../functions/handlers/api/reinstate-viewer.ts";
import { revokeViewerHandler } from "../../functions/handlers/api/revoke-viewer.ts";
import {
  type HttpApiAccount,
  type HttpApiHandler,
  type HttpApiStandin,
  startHttpApi,
} from "../../standins/http-api.ts";
import { lambdaContext } from "../support/api-events.ts";
import { strictly } from "../support/contract.ts";
import { UNCHANGED_EC_KEY } from "../support/replacement-key.ts";
import { partnersPlan } from "../support/viewer-plan.ts";

export const REGION = "eu-west-1";
export const NOW = new Date("2026-03-02T11:00:00Z");

export const OPERATOR: HttpApiAccount = {
  accessKeyId: "ASIAOPERATORSESSION1",
  secretAccessKey: "operator-session-secret",
  sessionToken: "IQoJb3JpZ2luX2VjE-operator-token",
  principalArn: "arn:aws:sts::111122223333:assumed-role/rotator-operators/alice",
  accountId: "111122223333",
};
/** A principal whose IAM policy grants execute-api:Invoke on the read routes only. */
export const AUDITOR: HttpApiAccount = {
  accessKeyId: "AKIAAUDITOR000000001",
  secretAccessKey: "auditor-secret",
  principalArn: "arn:aws:iam::111122223333:user/auditor",
  accountId: "111122223333",
  allowedRoutes: ["GET /certificates", "GET /rotations"],
};

export const PCA_ARN =
  "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/11111111-2222-3333-4444-555555555555";
const acmArn = (id: string) => `arn:aws:acm:us-east-1:111122223333:certificate/${id}`;
export const CERT_ID = "0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b";
export const CERT_ARN = acmArn(CERT_ID);
export const NEW_ARN = acmArn("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d");
export const OLD_SERIAL = "4c:1f:7a:22:90:0b:3e:5d";
export const NEW_SERIAL = "71:0a:5c:e3:28:44:9b:16";

const DAY = 86_400_000;
const day = (n: number) => new Date(NOW.getTime() + n * DAY).toISOString();

function certificate(
  input: Partial<CertificateView> & { id: string; daysToExpiry: number },
): CertificateView {
  return {
    arn: acmArn(input.id),
    subject: `CN=${input.id.slice(0, 8)}.origin-client.example.com, O=Example Corp`,
    issuer: "CN=Example Issuing CA G2, O=Example Corp",
    keyAlgorithm: "EC_prime256v1",
    serial: "3a:9f:00:11",
    notBefore: day(input.daysToExpiry - 90),
    notAfter: day(input.daysToExpiry),
    managed: true,
    retired: false,
    due: false,
    usage: [],
    decision: { reason: "Fresh", message: "renews when a third of the lifetime is left" },
    alerted: [],
    lastSeenAt: NOW.toISOString(),
    ...input,
  };
}

/** The inventory as GET /certificates lists it: due, fresh, unmanaged with drift, retired. */
export function inventory(): CertificateView[] {
  return [
    certificate({
      id: CERT_ID,
      arn: CERT_ARN,
      subject: "CN=edge-to-origin.example.com, O=Example Corp",
      serial: OLD_SERIAL,
      daysToExpiry: 12,
      due: true,
      decision: { reason: "Due", message: "a third of the lifetime is left", renewAt: day(-18) },
      alerted: [30, 14],
      usage: [
        { distributionId: "E1CANARYAAAAAA", originId: "api" },
        { distributionId: "E2BBBBBBBBBBBB", originId: "api" },
        { distributionId: "E2BBBBBBBBBBBB", originId: "static" },
        { distributionId: "E3CCCCCCCCCCCC", originId: "api" },
        { distributionId: "E4DDDDDDDDDDDD", originId: "api" },
        { distributionId: "E5EEEEEEEEEEEE", originId: "api" },
      ],
    }),
    certificate({
      id: "5b6c7d8e-9f00-4112-8233-445566778899",
      daysToExpiry: 71,
      decision: { reason: "Fresh", message: "renews in 41 days", renewAt: day(41) },
      usage: [{ distributionId: "E6FFFFFFFFFFFF", originId: "payments" }],
    }),
    certificate({
      id: "c0ffee00-1111-4222-8333-444455556666",
      subject: "CN=legacy-client, O=Old Vendor",
      issuer: "CN=Old Vendor CA",
      daysToExpiry: -3,
      managed: false,
      decision: { reason: "NotManaged", message: "issued by a CA the service does not manage" },
      usage: [{ distributionId: "E7GGGGGGGGGGGG", originId: "legacy" }],
      drift: [
        {
          kind: "unmanaged-certificate",
          distributionId: "E7GGGGGGGGGGGG",
          originId: "legacy",
          detail: "presents a certificate from an unmanaged issuer (expired 3 days ago)",
        },
      ],
    }),
    certificate({
      id: "dead0000-beef-4000-8000-000000000001",
      daysToExpiry: 40,
      retired: true,
      decision: { reason: "Fresh", message: "replaced by a rotation" },
    }),
  ];
}

// ---- rotations as the workflow records them ------------------------------------------------------------

const T0 = Date.parse("2026-03-02T10:00:00Z");
export const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

export const ROTATION_ID = rotationIdFor(CERT_ARN, OLD_SERIAL, sha256Hex);

const WAVES = [
  { index: 0, canary: true, targets: [{ distributionId: "E1CANARYAAAAAA", originIds: ["api"] }] },
  {
    index: 1,
    canary: false,
    targets: [
      { distributionId: "E2BBBBBBBBBBBB", originIds: ["api", "static"] },
      { distributionId: "E3CCCCCCCCCCCC", originIds: ["api"] },
    ],
  },
  {
    index: 2,
    canary: false,
    targets: [
      { distributionId: "E4DDDDDDDDDDDD", originIds: ["api"] },
      { distributionId: "E5EEEEEEEEEEEE", originIds: ["api"] },
    ],
  },
];

function passedGate(wave: number): GateResult {
  const targets = WAVES[wave]!.targets;
  return {
    passed: true,
    checks: targets.map((t) => ({
      distributionId: t.distributionId,
      errorRate: 0.2,
      baseline: 0.1,
      threshold: 2.1,
      passed: true,
    })),
    probes: targets.flatMap((t) =>
      t.originIds.map((o) => ({ target: `${t.distributionId}/${o}`, status: 200, accepted: true })),
    ),
  };
}

/** started .. preflight passed: nothing swapped yet. */
function prelude(): RotationEvent[] {
  return [
    {
      type: "started",
      at: at(0),
      request: {
        certificateArn: CERT_ARN,
        serial: OLD_SERIAL,
        reason: "due: a third of the lifetime is left",
        actor: OPERATOR.principalArn,
      },
    },
    {
      type: "planned",
      at: at(2),
      old: {
        arn: CERT_ARN,
        serial: OLD_SERIAL,
        keyAlgorithm: "EC_prime256v1",
        subject: "CN=edge-to-origin.example.com\nO=Example Corp",
        notAfter: day(12),
        certificatePem: "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n",
      },
      waves: WAVES,
      newIssuerArn: PCA_ARN,
      replacementKey: UNCHANGED_EC_KEY,
      baselines: {
        E1CANARYAAAAAA: 0.1,
        E2BBBBBBBBBBBB: 0.1,
        E3CCCCCCCCCCCC: 0.1,
        E4DDDDDDDDDDDD: null,
        E5EEEEEEEEEEEE: 0,
      },
    },
    {
      type: "issued",
      at: at(9),
      certificateArn: NEW_ARN,
      serial: NEW_SERIAL,
      notAfter: day(102),
      fingerprint: "sha256:5f1c0b2a",
    },
    {
      type: "trust-published",
      at: at(11),
      bundleSha256: "c1a0ffee",
      targets: [
        { target: "s3://acme-trust/trust/origin-client-ca.pem", changed: true },
        { target: "secretsmanager:mtls-rotator/trust-bundle", changed: true },
      ],
    },
    {
      type: "preflight",
      at: at(12),
      attempt: 1,
      deadlinePassed: false,
      probes: [
        { target: "E1CANARYAAAAAA/api", status: 200, accepted: true },
        { target: "E2BBBBBBBBBBBB/static", status: 400, accepted: false },
      ],
    },
    {
      type: "preflight",
      at: at(42),
      attempt: 2,
      deadlinePassed: false,
      probes: [
        { target: "E1CANARYAAAAAA/api", status: 200, accepted: true },
        { target: "E2BBBBBBBBBBBB/static", status: 200, accepted: true },
      ],
    },
  ];
}

/** Swap, deploy, bake (manual-rollback window), gate for one wave. */
function wave(index: number, start: number, gate: GateResult = passedGate(index)): RotationEvent[] {
  const targets = WAVES[index]!.targets;
  return [
    ...targets.map(
      (t, i): RotationEvent => ({
        type: "swapped",
        at: at(start + i),
        wave: index,
        distributionId: t.distributionId,
        outcome: "swapped",
        changedOriginIds: t.originIds,
      }),
    ),
    { type: "deployed", at: at(start + 240), wave: index },
    { type: "gate", at: at(start + 840), wave: index, result: gate },
  ];
}

/** Every wave passes; the new certificate is promoted and the old one retired. */
export function completedRotation(): RotationEvent[] {
  return [
    ...prelude(),
    ...wave(0, 60),
    ...wave(1, 1000),
    ...wave(2, 2000),
    { type: "promoted", at: at(2900) },
    {
      type: "retired",
      at: at(2901),
      deleted: true,
      revoked: false,
      detail: "deleted after the grace period",
    },
    { type: "completed", at: at(2902) },
  ];
}

/** Wave 1's gate fails (5xx over threshold, a refused probe): every swapped distribution is put back. */
export function gateFailedRotation(): RotationEvent[] {
  const failed: GateResult = {
    passed: false,
    checks: [
      { distributionId: "E2BBBBBBBBBBBB", errorRate: 7.5, baseline: 0.1, threshold: 2.1, passed: false },
      { distributionId: "E3CCCCCCCCCCCC", errorRate: 0.3, baseline: 0.1, threshold: 2.1, passed: true },
    ],
    probes: [
      { target: "E2BBBBBBBBBBBB/api", status: 200, accepted: true },
      { target: "E2BBBBBBBBBBBB/static", status: 400, accepted: false },
      { target: "E3CCCCCCCCCCCC/api", status: 200, accepted: true },
    ],
  };
  return [
    ...prelude(),
    ...wave(0, 60),
    ...wave(1, 1000, failed),
    {
      type: "rollback-requested",
      at: at(1841),
      reason: "GateFailed",
      actor: "mtls-rotator",
      detail: "wave 1: E2BBBBBBBBBBBB 5xx 7.50% > 2.10%; probe E2BBBBBBBBBBBB/static refused (HTTP 400)",
    },
    { type: "rolled-back-distribution", at: at(1850), distributionId: "E1CANARYAAAAAA", ok: true },
    { type: "rolled-back-distribution", at: at(1851), distributionId: "E2BBBBBBBBBBBB", ok: true },
    { type: "rolled-back-distribution", at: at(1852), distributionId: "E3CCCCCCCCCCCC", ok: true },
    { type: "rolled-back", at: at(1900) },
  ];
}

/** An operator rolls back during wave 1's bake; one distribution cannot be put back: failed. */
export function rollbackIncompleteRotation(): RotationEvent[] {
  const events = [...prelude(), ...wave(0, 60), ...wave(1, 1000)];
  events.pop(); // no gate: the rollback came during the bake window
  return [
    ...events,
    {
      type: "rollback-requested",
      at: at(1300),
      reason: "ManualRollback",
      actor: OPERATOR.principalArn,
      detail: "origin team reports handshake errors",
    },
    { type: "rolled-back-distribution", at: at(1310), distributionId: "E1CANARYAAAAAA", ok: true },
    {
      type: "rolled-back-distribution",
      at: at(1311),
      distributionId: "E2BBBBBBBBBBBB",
      ok: false,
      error: "PreconditionFailed after 5 attempts",
    },
    { type: "rolled-back-distribution", at: at(1312), distributionId: "E3CCCCCCCCCCCC", ok: true },
    {
      type: "failed",
      at: at(1400),
      reason: "RollbackIncomplete",
      detail: `could not put back E2BBBBBBBBBBBB (it still presents ${NEW_ARN})`,
    },
  ];
}

/** Preflight never passes: aborted before any swap. */
export function abortedRotation(): RotationEvent[] {
  const events = prelude().slice(0, 5);
  return [
    ...events,
    {
      type: "preflight",
      at: at(900),
      attempt: 30,
      deadlinePassed: true,
      probes: [
        { target: "E1CANARYAAAAAA/api", status: 200, accepted: true },
        { target: "E2BBBBBBBBBBBB/static", status: 400, accepted: false },
      ],
    },
    {
      type: "aborted",
      at: at(901),
      reason: "PreflightRefused",
      detail: "E2BBBBBBBBBBBB/static refused the new certificate until the deadline",
    },
  ];
}

/** The same events, as if the rotation had been started with this approval mode (RotationRequest.overrides). */
export function withApproval(events: RotationEvent[], approval: "none" | "between-waves"): RotationEvent[] {
  return events.map((e) =>
    e.type === "started"
      ? { ...e, request: { ...e.request, overrides: { approval } } as typeof e.request }
      : e,
  );
}

/** GET /rotations/{id}'s answer for these events, shaped as the API shapes it (no old certificate's body). */
export function detailOf(events: RotationEvent[], control?: RotationAnswer["control"]): RotationAnswer {
  return {
    rotation: rotationView(foldEvents(ROTATION_ID, events)),
    history: historyView(events),
    ...(control ? { control } : {}),
  };
}

// ---- the API, as the contract describes it --------------------------------------------------------------

export function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

const apiError = (statusCode: number, error: Record<string, unknown>) => json(statusCode, { error });

/** What the API knows; tests change it between calls. */
export interface Backend {
  certificates: CertificateView[];
  /** Most certificates per page of GET /certificates, below the limit asked for (a page may hold fewer). */
  certificatePageSize?: number;
  /** Query strings GET /certificates received. */
  certificateQueries: Array<Record<string, string | undefined>>;
  /** Every rotation the API lists: its events so far. */
  rotations: Map<string, RotationEvent[]>;
  /** GET /rotations/{id} answers, one per call (the last one repeats): drives `watch`. */
  timelines: Map<string, Array<RotationAnswer | "error" | "not-yet">>;
  /** The control point each rotation waits at (rollback/approve are delivered there). */
  controls: Map<string, { kind: "bake" | "approval"; wave: number }>;
  /** Bodies POST /rotations received. */
  started: StartRotationBody[];
  /** Bodies POST /rotations/{id}/rollback|approve received. */
  decisions: Array<{ rotationId: string; action: string; body: unknown }>;
  /** POST /scan calls received. */
  scans: number;
  /** The viewer revocation list by normal-form serial; undefined: the stage configures no store. */
  revocations: Map<string, RevocationRecord> | undefined;
  /** Audit notices of the revocation routes; `notify: false` makes publishing fail. */
  notices: Notification[];
  notify: boolean;
  /** The viewer trust domains the stage configures. */
  viewerDomains: string[];
  /** Bodies POST /viewer-migrations received. */
  viewerStarted: StartViewerMigrationBody[];
  /** GET /viewer-migrations/{id} answers, one per call (the last one repeats; "not-yet": 404). */
  viewerMigrations: Map<string, Array<ViewerMigrationAnswer | "not-yet">>;
  /** Migrations waiting for approval. */
  viewerControls: Set<string>;
  /** Bodies POST /viewer-migrations/{id}/approve|rollback received. */
  viewerDecisions: Array<{ migrationId: string; action: string; body: unknown }>;
  /** What GET /viewer-mtls answers; 404 (no full scan yet) when absent. */
  viewerMtls?: ViewerMtlsAnswer;
}

export function newBackend(): Backend {
  return {
    certificates: inventory(),
    certificatePageSize: undefined,
    certificateQueries: [],
    rotations: new Map(),
    timelines: new Map(),
    controls: new Map(),
    started: [],
    decisions: [],
    scans: 0,
    revocations: new Map(),
    notices: [],
    notify: true,
    viewerDomains: ["partners"],
    viewerStarted: [],
    viewerMigrations: new Map(),
    viewerControls: new Set(),
    viewerDecisions: [],
    viewerMtls: undefined,
  };
}

export const REVOCATION_STORE =
  "arn:aws:cloudfront::123456789012:key-value-store/0f9c5e6a-1111-2222-3333-444455556666";

/**
 * The revocation routes' dependencies over the backend: the list in memory (the KeyValueStore adapter itself
 * is tested against the stand-in, test/adapters/viewer-revocations.test.ts), the REAL use-cases and handlers.
 */
function revocationDeps(backend: Backend): ViewerRevocationDeps {
  const list = backend.revocations;
  return {
    ...(list
      ? {
          list: {
            storeArn: REVOCATION_STORE,
            revocations: {
              async revoke(text, reason = "revoked by operator", revokedBy) {
                const serial = normalViewerSerial(text);
                const earlier = list.get(serial);
                if (earlier) return { serial, alreadyRevoked: true, record: earlier };
                const record = { reason, revokedAt: NOW.toISOString(), ...(revokedBy ? { revokedBy } : {}) };
                list.set(serial, record);
                return { serial, alreadyRevoked: false, record };
              },
              async withdraw(text) {
                const serial = normalViewerSerial(text);
                const earlier = list.get(serial);
                list.delete(serial);
                return earlier;
              },
              async record(serial) {
                return list.get(serial);
              },
            },
          },
        }
      : {}),
    notifier: {
      async publish(notification) {
        if (!backend.notify) throw new Error("SNS is down");
        backend.notices.push(notification);
      },
    },
    now: () => NOW,
    log: () => undefined,
  };
}

// ---- viewer CA migrations ---------------------------------------------------------------------------------

export const VIEWER_CA_A =
  "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/aaaaaaaa-2222-4333-8444-555555555555";
export const VIEWER_CA_B =
  "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/bbbbbbbb-2222-4333-8444-555555555555";
export const VIEWER_MIGRATION_ID = "vmig-m-partners-0123456789ab";
export const VIEWER_DRY_RUN_ID = "vdry-m-partners-0123456789ab";

/** A migrate plan of `partners` (A -> B): two trust stores in waves, one passthrough origin. */
export const viewerPlan = () => partnersPlan({ from: VIEWER_CA_A, to: VIEWER_CA_B, now: NOW });

/** A viewer migration's answer after `events` (folded by the core, as the store keeps it). */
export function viewerAnswerOf(
  request: ViewerMigrationRequest,
  events: ViewerMigrationEvent[],
  options: { control?: boolean } = {},
): ViewerMigrationAnswer {
  return {
    request,
    state: events.reduce(
      applyViewerEvent,
      initialViewerState(request.migrationId),
    ) as ViewerMigrationAnswer["state"],
    startedAt: at(0),
    updatedAt: events.at(-1)?.at ?? at(0),
    history: events as ViewerMigrationAnswer["history"],
    historyStart: 0,
    ...(options.control ? { control: { kind: "approval" as const } } : {}),
    see: {
      api: `GET /viewer-migrations/${request.migrationId}`,
      cli: `mtls-rotator viewer-migration ${request.migrationId}`,
    },
  };
}

export const viewerRequest = (migrationId: string, dryRun = false): ViewerMigrationRequest => ({
  migrationId,
  domain: "partners",
  action: "migrate",
  actor: OPERATOR.principalArn,
  reason: "CA A retires in March",
  ...(dryRun ? { dryRun: true } : {}),
});

/** A migration proved on every trust point, waiting for approval (events so far). */
export function viewerWaitingEvents(): ViewerMigrationEvent[] {
  return [
    { type: "viewer-planned", at: at(1), plan: viewerPlan() },
    {
      type: "viewer-trust-published",
      at: at(30),
      wave: 1,
      results: [{ trustPoint: "TS-CANARY", ok: true, changed: true, version: "v2" }],
    },
    {
      type: "viewer-trust-published",
      at: at(60),
      wave: 2,
      results: [{ trustPoint: "TS-REST", ok: true, changed: true, version: "v2" }],
    },
    {
      type: "viewer-proved",
      at: at(90),
      attempt: 2,
      ok: true,
      trustStores: [
        { trustStoreId: "TS-CANARY", status: "active", trustsNewCa: true },
        { trustStoreId: "TS-REST", status: "active", trustsNewCa: true },
      ],
      origins: [{ origin: "partner-api", status: 200, accepted: true }],
    },
  ];
}

/** The same migration approved and announced. */
export function viewerAnnouncedEvents(): ViewerMigrationEvent[] {
  return [
    ...viewerWaitingEvents(),
    {
      type: "viewer-control",
      at: at(120),
      action: "approve",
      actor: OPERATOR.principalArn,
      reason: "partners ready",
    },
    {
      type: "viewer-announced",
      at: at(150),
      authorityArn: VIEWER_CA_B,
      retireAfter: day(404),
      retiring: [VIEWER_CA_A],
    },
    { type: "viewer-ended", at: at(151), status: "announced" },
  ];
}

function bodyOf(event: APIGatewayProxyEventV2WithIAMAuthorizer): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(event.body ?? "{}");
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const invalid = (problems: Array<{ field: string; message: string }>) =>
  apiError(400, {
    code: "ValidationError",
    message: `invalid request: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`,
    problems,
  });

/** A plan's keyAlgorithm and replacementKey, as planRotation answers them. */
function replacementKeyOf(
  choice: ReplacementKeyChoice,
): Pick<RotationPlanView, "keyAlgorithm" | "replacementKey"> {
  if (choice.keyAlgorithm === undefined) throw new Error(choice.message);
  const { keyAlgorithm, ...replacementKey } = choice;
  return { keyAlgorithm, replacementKey };
}

export function planFor(c: CertificateView, request: StartRotationBody): RotationPlanView {
  const targets = new Map<string, string[]>();
  for (const u of c.usage)
    targets.set(u.distributionId, [...(targets.get(u.distributionId) ?? []), u.originId]);
  const waves = planWaves(
    [...targets].map(([distributionId, originIds]) => ({ distributionId, originIds })),
    request.waves ?? {},
  );
  return {
    certificateArn: c.arn,
    serial: c.serial,
    subject: c.subject,
    // The contract's CA has a P-256 key: the replacement follows it (replacementKeyFor).
    ...replacementKeyOf(
      replacementKeyFor({ caKeyAlgorithm: "EC_prime256v1", inServiceKeyAlgorithm: c.keyAlgorithm }),
    ),
    notAfter: c.notAfter,
    issuer: { authorityArn: PCA_ARN },
    trustTargets: ["s3://acme-trust/trust/origin-client-ca.pem", "secretsmanager:mtls-rotator/trust-bundle"],
    waves: waves.map((w) => ({ index: w.index, canary: w.canary, distributions: w.targets })),
    expectedDurationSeconds: {
      typical: waves.length * (300 + (request.bakeSeconds ?? 900)),
      worstCase: waves.length * (1800 + (request.bakeSeconds ?? 900)) + 900,
    },
  };
}

/**
 * Route handlers answering as the API contract says: every answer is checked against the contract's schema
 * for its route and status (strictly: nothing the contract does not name), so the CLI is tested against
 * answers the API can give.
 */
export function contractRoutes(backend: Backend): Record<string, HttpApiHandler> {
  const routes = answerRoutes(backend);
  return Object.fromEntries(
    Object.entries(routes).map(([key, handler]) => [key, checkedAgainstContract(key, handler)]),
  );
}

type AnswerHandler = (
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
) => Promise<APIGatewayProxyStructuredResultV2>;

function checkedAgainstContract(key: string, handler: AnswerHandler): HttpApiHandler {
  const found = (
    Object.entries(ROUTES) as [keyof typeof ROUTES, (typeof ROUTES)[keyof typeof ROUTES]][]
  ).find(([, r]) => `${r.method} ${r.path}` === key);
  if (!found) throw new Error(`the contract has no route ${key}`);
  const [operationId] = found;
  return async (event) => {
    const answer = await handler(event);
    const status = answer.statusCode ?? 200;
    const schema =
      status >= 400 ? ErrorAnswer : (ROUTE_ANSWERS[operationId] as Record<number, z.core.$ZodType>)[status];
    if (!schema) throw new Error(`the contract has no ${status} answer for ${key}`);
    z.parse(strictly(schema), JSON.parse(String(answer.body)));
    return answer;
  };
}

function answerRoutes(backend: Backend): Record<string, AnswerHandler> {
  const rotationSummaries = () =>
    [...backend.rotations].map(([rotationId, events]) => {
      const state = foldEvents(rotationId, events);
      return {
        rotationId,
        certificateArn: state.request?.certificateArn ?? "",
        status: state.status,
        startedAt: state.startedAt ?? "",
        updatedAt: state.updatedAt ?? "",
      };
    });
  return {
    "GET /certificates": async (event) => {
      const q = event.queryStringParameters ?? {};
      backend.certificateQueries.push({ ...q });
      const within = q.expiringWithinDays === undefined ? undefined : Number(q.expiringWithinDays);
      if (within !== undefined && !Number.isInteger(within)) {
        return invalid([{ field: "expiringWithinDays", message: "must be a whole number of days" }]);
      }
      const limit = q.limit === undefined ? DEFAULT_CERTIFICATE_PAGE : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CERTIFICATE_PAGE) {
        return invalid([
          { field: "limit", message: `must be a whole number from 1 to ${MAX_CERTIFICATE_PAGE}` },
        ]);
      }
      // The filters the token was handed out for come with it: a token is valid with the same ones only.
      const filters = JSON.stringify([q.due, q.expiringWithinDays, q.managed]);
      let start = 0;
      if (q.nextToken !== undefined) {
        const [offset, forFilters] = q.nextToken.split("~");
        if (!/^page-\d+$/.test(offset ?? "") || forFilters !== Buffer.from(filters).toString("base64url")) {
          return invalid([{ field: "nextToken", message: "is not a nextToken this listing handed out" }]);
        }
        start = Number(offset!.slice(5));
      }
      const matching = backend.certificates.filter(
        (c) =>
          (q.due === undefined || String(c.due) === q.due) &&
          (within === undefined || c.daysToExpiry <= within) &&
          (q.managed === undefined || String(c.managed) === q.managed),
      );
      const end = start + Math.min(limit, backend.certificatePageSize ?? limit);
      const certificates = matching.slice(start, end);
      return json(
        200,
        end < matching.length
          ? { certificates, nextToken: `page-${end}~${Buffer.from(filters).toString("base64url")}` }
          : { certificates },
      );
    },
    "GET /certificates/{id}": async (event) => {
      const certificate = backend.certificates.find((c) => c.id === event.pathParameters?.id);
      if (!certificate)
        return apiError(404, { code: "NotFound", message: `no certificate ${event.pathParameters?.id}` });
      return json(200, { certificate });
    },
    "POST /rotations": async (event) => {
      const body = bodyOf(event) as StartRotationBody | undefined;
      if (!body) return invalid([{ field: "body", message: "must be a JSON object" }]);
      const problems: Array<{ field: string; message: string }> = [];
      if (typeof body.certificateArn !== "string" || !/^arn:aws[\w-]*:acm:/.test(body.certificateArn)) {
        problems.push({ field: "certificateArn", message: "must be an ACM certificate ARN" });
      }
      if (body.bakeSeconds !== undefined && body.bakeSeconds > 86_400) {
        problems.push({ field: "bakeSeconds", message: "must be at most 86400 (one day)" });
      }
      if (problems.length > 0) return invalid(problems);
      backend.started.push(body);
      const certificate = backend.certificates.find((c) => c.arn === body.certificateArn);
      if (!certificate)
        return apiError(404, { code: "NotFound", message: `no certificate ${body.certificateArn}` });
      if (body.dryRun) return json(200, { dryRun: true, plan: planFor(certificate, body) });
      const running = rotationSummaries().find(
        (r) => r.certificateArn === body.certificateArn && !TERMINAL_STATUSES.includes(r.status),
      );
      if (running) {
        return apiError(409, {
          code: "Conflict",
          message: `rotation ${running.rotationId} is already running for ${body.certificateArn}`,
          rotationId: running.rotationId,
        });
      }
      const rotationId = rotationIdFor(certificate.arn, certificate.serial, sha256Hex);
      backend.rotations.set(rotationId, prelude().slice(0, 1));
      return json(202, { rotationId, started: true, status: "started" });
    },
    "GET /rotations": async (event) => {
      const limit = Number(event.queryStringParameters?.limit ?? 100);
      return json(200, { rotations: rotationSummaries().slice(0, limit) });
    },
    "GET /rotations/{id}": async (event) => {
      const id = event.pathParameters?.id ?? "";
      const timeline = backend.timelines.get(id);
      if (timeline && timeline.length > 0) {
        const next = timeline.length > 1 ? timeline.shift()! : timeline[0]!;
        if (next === "error") throw new Error("DynamoDB throttled the read");
        if (next === "not-yet") return apiError(404, { code: "NotFound", message: `no rotation ${id}` });
        return json(200, next);
      }
      const events = backend.rotations.get(id);
      if (!events) return apiError(404, { code: "NotFound", message: `no rotation ${id}` });
      return json(200, detailOf(events, backend.controls.get(id)));
    },
    "POST /rotations/{id}/rollback": async (event) => decide(backend, event, "rollback"),
    "POST /rotations/{id}/approve": async (event) => decide(backend, event, "approve"),
    "POST /scan": async () => {
      backend.scans += 1;
      return json(202, { accepted: true });
    },
    "POST /viewer-migrations": async (event) => {
      const body = bodyOf(event) as StartViewerMigrationBody | undefined;
      if (!body) return invalid([{ field: "body", message: "must be a JSON object" }]);
      if (typeof body.reason !== "string" || body.reason === "")
        return invalid([{ field: "reason", message: "is required" }]);
      backend.viewerStarted.push(body);
      if (!backend.viewerDomains.includes(body.domain))
        return apiError(404, {
          code: "NotFound",
          message: `no viewer trust domain "${body.domain}" in this stage's settings; configured: ${backend.viewerDomains.join(", ")}`,
        });
      const action = body.action ?? "migrate";
      const migrationId = `${body.dryRun ? "vdry" : "vmig"}-${action === "migrate" ? "m" : "r"}-${body.domain}-0123456789ab`;
      const running = [...backend.viewerMigrations].find(
        ([id, timeline]) =>
          id !== migrationId &&
          timeline.at(-1) !== "not-yet" &&
          (timeline.at(-1) as ViewerMigrationAnswer).state.status === "running",
      );
      if (running)
        return apiError(409, {
          code: "Conflict",
          message: `viewer migration ${running[0]} of viewer trust domain ${body.domain} is running`,
        });
      const started = !backend.viewerMigrations.has(migrationId);
      if (started) backend.viewerMigrations.set(migrationId, ["not-yet"]);
      return json(202, {
        migrationId,
        domain: body.domain,
        action,
        dryRun: body.dryRun === true,
        started,
        see: {
          api: `GET /viewer-migrations/${migrationId}`,
          cli: `mtls-rotator viewer-migration ${migrationId}`,
        },
      });
    },
    "GET /viewer-migrations": async (event) => {
      const limit = Number(event.queryStringParameters?.limit ?? 25);
      const all = [...backend.viewerMigrations].flatMap(([migrationId, timeline]) => {
        const last = timeline.at(-1);
        return last && last !== "not-yet"
          ? [{ migrationId, status: last.state.status, startedAt: last.startedAt, updatedAt: last.updatedAt }]
          : [];
      });
      const start = Number(event.queryStringParameters?.nextToken ?? 0);
      const page = all.slice(start, start + limit);
      return json(200, {
        migrations: page,
        ...(start + limit < all.length ? { nextToken: String(start + limit) } : {}),
      });
    },
    "GET /viewer-migrations/{id}": async (event) => {
      const id = event.pathParameters?.id ?? "";
      const timeline = backend.viewerMigrations.get(id);
      if (!timeline || timeline.length === 0)
        return apiError(404, { code: "NotFound", message: `no viewer migration ${id}` });
      const next = timeline.length > 1 ? timeline.shift()! : timeline[0]!;
      if (next === "not-yet")
        return apiError(404, { code: "NotFound", message: `no viewer migration ${id}` });
      return json(200, next);
    },
    "POST /viewer-migrations/{id}/approve": async (event) => decideViewer(backend, event, "approve"),
    "POST /viewer-migrations/{id}/rollback": async (event) => decideViewer(backend, event, "rollback"),
    ...revocationRoutes(backend),
    "GET /viewer-mtls": async () =>
      backend.viewerMtls
        ? json(200, backend.viewerMtls)
        : apiError(404, {
            code: "NotFound",
            message: "no viewer mTLS inventory yet (it is filled by the full scan: POST /scan)",
          }),
  };
}

/** The real handlers of the revocation routes, over the backend's list. */
function revocationRoutes(backend: Backend): Record<string, AnswerHandler> {
  const quiet = { log: () => undefined };
  const deps = async () => revocationDeps(backend);
  type RouteHandler = (event: never, context: never) => Promise<unknown>;
  const handlers: Record<string, RouteHandler> = {
    "POST /viewer-revocations": revokeViewerHandler(deps, quiet),
    "GET /viewer-revocations/{serial}": getViewerRevocationHandler(deps, quiet),
    "DELETE /viewer-revocations/{serial}": reinstateViewerHandler(deps, quiet),
  };
  return Object.fromEntries(
    Object.entries(handlers).map(([key, handler]) => [
      key,
      async (event: APIGatewayProxyEventV2WithIAMAuthorizer) =>
        (await handler(event as never, lambdaContext() as never)) as APIGatewayProxyStructuredResultV2,
    ]),
  );
}

function decideViewer(
  backend: Backend,
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  action: "rollback" | "approve",
) {
  const migrationId = event.pathParameters?.id ?? "";
  const last = backend.viewerMigrations.get(migrationId)?.at(-1);
  if (!last || last === "not-yet")
    return apiError(404, { code: "NotFound", message: `no viewer migration ${migrationId}` });
  if (!backend.viewerControls.has(migrationId)) {
    const status = last.state.status;
    // A running migration at no approval: a rollback is recorded for its next safe point.
    if (status === "running" && action === "rollback") {
      backend.viewerDecisions.push({ migrationId, action, body: bodyOf(event) });
      return json(202, { migrationId, action, kind: "requested" });
    }
    return apiError(409, {
      code: "Conflict",
      message:
        status === "running"
          ? `viewer migration ${migrationId} is running and not waiting for approval`
          : `viewer migration ${migrationId} has already ended (${status})`,
    });
  }
  backend.viewerDecisions.push({ migrationId, action, body: bodyOf(event) });
  return json(202, { migrationId, action, kind: "approval" });
}

function decide(
  backend: Backend,
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  action: "rollback" | "approve",
) {
  const rotationId = event.pathParameters?.id ?? "";
  const events = backend.rotations.get(rotationId);
  if (!events) return apiError(404, { code: "NotFound", message: `no rotation ${rotationId}` });
  const state = foldEvents(rotationId, events);
  const control = backend.controls.get(rotationId);
  if (!control || (action === "approve" && control.kind !== "approval")) {
    const why = control
      ? `rotation ${rotationId} is baking wave ${control.wave}, not waiting for approval`
      : `rotation ${rotationId} is ${state.status} and not at a bake window or approval; retry then`;
    return apiError(409, { code: "Conflict", message: why, rotationId });
  }
  backend.decisions.push({ rotationId, action, body: bodyOf(event) });
  return json(202, { rotationId, action, kind: control.kind, wave: control.wave });
}

export interface ContractApi {
  standin: HttpApiStandin;
  backend: Backend;
  close(): Promise<void>;
}

/**
 * The API on loopback. Its clock is NOW by default, the one the in-process commands sign and render with;
 * a child process signs with the real clock (`now: () => new Date()`).
 */
export async function startContractApi(
  backend: Backend = newBackend(),
  options: { now?: () => Date } = {},
): Promise<ContractApi> {
  const standin = await startHttpApi({
    region: REGION,
    accounts: [OPERATOR, AUDITOR],
    routes: contractRoutes(backend),
    now: options.now ?? (() => NOW),
  });
  return { standin, backend, close: () => standin.close() };
}

/** Output captured from a command. */
export interface Captured {
  io: { stdout(text: string): void; stderr(text: string): void };
  stdout(): string;
  stderr(): string;
}

export function capture(): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (t) => out.push(t), stderr: (t) => err.push(t) },
    stdout: () => out.join(""),
    stderr: () => err.join(""),
  };
}

/** The environment a command runs in: the stand-in's URL and region, the operator's credentials, no waits. */
export function environmentFor(
  standin: HttpApiStandin,
  overrides: Partial<OperatorEnvironment> = {},
): OperatorEnvironment {
  return {
    env: { MTLS_ROTATOR_API_URL: standin.url, AWS_REGION: REGION },
    credentials: async () => ({
      accessKeyId: OPERATOR.accessKeyId,
      secretAccessKey: OPERATOR.secretAccessKey,
      sessionToken: OPERATOR.sessionToken,
    }),
    now: () => NOW,
    sleep: async () => {},
    isTTY: false,
    ...overrides,
  };
}

/**
 * The contract API for one test file: started before its tests, closed after, its backend fresh for every
 * test. Read `contract.api` inside tests (it exists once the file's tests run).
 */
export function useContractApi(): { readonly api: ContractApi } {
  const contract = { api: undefined as unknown as ContractApi };
  beforeAll(async () => {
    contract.api = await startContractApi();
  });
  afterAll(async () => {
    await contract.api?.close();
  });
  beforeEach(() => {
    Object.assign(contract.api.backend, newBackend());
  });
  return contract;
}

/** Runs `mtls-rotator <args>` against `api`, capturing its output and the requests it made. */
export async function runOperator(
  api: ContractApi,
  args: string[],
  overrides: Partial<OperatorEnvironment> = {},
) {
  const [name, ...rest] = args;
  const spec = OPERATOR_COMMANDS.find((c) => c.name === name);
  if (!spec) throw new Error(`no command ${name}`);
  const out = capture();
  const from = api.standin.requests.length;
  const code = await runOperatorCommand(spec, rest, out.io, environmentFor(api.standin, overrides));
  return { code, stdout: out.stdout(), stderr: out.stderr(), requests: api.standin.requests.slice(from) };
}
