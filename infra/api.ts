// The operator API: an API Gateway HTTP API where every route requires IAM authorization (SigV4; callers
// need execute-api:Invoke on the route), one Lambda per route (functions/handlers/api/*.ts), each linked to
// and granted only what its use-case touches. No statement has a wildcard action; "*" resources only where
// the action supports nothing narrower (noted).
import { TABLE_PARTITIONS } from "../functions/adapters/table-partitions.ts";
import { LAMBDA_NODEJS, type LambdaName, lambdaHandler } from "./lambdas";
import { deadRotationRelease, rotationSettingsLink, rotationWorkflow } from "./rotation";
import { settings } from "./settings";
import { rotationTable, rotationTableLink, trustBundleBucketLink } from "./storage";
import { rotationWorkflowStarterLink, scanFunction } from "./tracking";

const partition = aws.getPartitionOutput().partition;
const account = aws.getCallerIdentityOutput().accountId;

type Statement = {
  actions: string[];
  resources: ($util.Input<string> | string)[];
  conditions?: { test: string; variable: string; values: string[] }[];
};

/** What the API functions read: the ScanFunction's name only (a link to the function would grant more). */
export const scanFunctionLink = new sst.Linkable("ScanFunction", {
  properties: { name: scanFunction.name },
});

/** The inventory partition only (functions/adapters/inventory-store.ts: pk = INVENTORY). */
const inventoryReads: Statement = {
  actions: ["dynamodb:GetItem", "dynamodb:Query"],
  resources: [rotationTable.arn],
  conditions: [
    { test: "ForAllValues:StringEquals", variable: "dynamodb:LeadingKeys", values: ["INVENTORY"] },
  ],
};

/** The viewer mTLS inventory's partition only (functions/adapters/inventory-reads.ts: pk = VIEWER-INVENTORY). */
const viewerInventoryReads: Statement = {
  actions: ["dynamodb:Query"],
  resources: [rotationTable.arn],
  conditions: [
    {
      test: "ForAllValues:StringEquals",
      variable: "dynamodb:LeadingKeys",
      values: [TABLE_PARTITIONS.viewerInventory],
    },
  ],
};

/**
 * Reads of rotations: items and history, and the `list` index that pages rotations newest first. Only Query
 * reads an index (GetItem's one resource type is the table: Service Authorization Reference, DynamoDB).
 */
const rotationReads: Statement[] = [
  { actions: ["dynamodb:GetItem"], resources: [rotationTable.arn] },
  {
    actions: ["dynamodb:Query"],
    resources: [rotationTable.arn, $interpolate`${rotationTable.arn}/index/list`],
  },
];

/** Single items: a rotation's status, a certificate's lock, a rotation's open control point. */
const itemReads: Statement = { actions: ["dynamodb:GetItem"], resources: [rotationTable.arn] };

export const apiPermissions = {
  /** GET /certificates, GET /certificates/{id}: the inventory partition. */
  certificates: [inventoryReads] as Statement[],
  /** GET /viewer-mtls: one Query of the viewer mTLS inventory's partition. */
  viewerMtls: [viewerInventoryReads] as Statement[],
  /** GET /rotations, GET /rotations/{id}. */
  readRotations: rotationReads,
  /**
   * POST /rotations: the certificate in service (serial, key type, issuer), the configured CAs' own
   * certificates (whose certificates are managed), which distributions present it (a dry run's waves),
   * whether a rotation already runs for it, and a durable start of the workflow.
   */
  startRotation: [
    {
      actions: ["acm:GetCertificate"],
      resources: [$interpolate`arn:${partition}:acm:us-east-1:${account}:certificate/*`],
    },
    {
      actions: ["acm-pca:GetCertificateAuthorityCertificate"],
      resources: [settings.rotation.authorityArn, ...settings.tracking.previousAuthorityArns],
    },
    // ListDistributions supports no resource-level permission.
    { actions: ["cloudfront:ListDistributions"], resources: ["*"] },
    itemReads,
    {
      actions: ["lambda:InvokeFunction"],
      resources: [$interpolate`${rotationWorkflow.arn}:${rotationWorkflow.qualifier}`],
    },
    ...deadRotationRelease,
  ] as Statement[],
  /** POST /rotations/{id}/approve: the open control point, and answering its durable callback. */
  controlRotation: [
    itemReads,
    {
      actions: ["lambda:SendDurableExecutionCallbackSuccess"],
      resources: [$interpolate`${rotationWorkflow.arn}:*`],
    },
  ] as Statement[],
  /**
   * POST /rotations/{id}/rollback: the control routes' permissions, and recording a rollback asked for
   * between control points (functions/adapters/rollback-requests.ts): a conditional PutItem of a rotation's
   * items only (`ROT#...` partitions).
   */
  rollbackRotation: [
    itemReads,
    {
      actions: ["lambda:SendDurableExecutionCallbackSuccess"],
      resources: [$interpolate`${rotationWorkflow.arn}:*`],
    },
    {
      actions: ["dynamodb:PutItem"],
      resources: [rotationTable.arn],
      conditions: [{ test: "ForAllValues:StringLike", variable: "dynamodb:LeadingKeys", values: ["ROT#*"] }],
    },
  ] as Statement[],
  /** POST /scan: an asynchronous invoke of the scheduled scan's function. */
  startScan: [{ actions: ["lambda:InvokeFunction"], resources: [scanFunction.arn] }] as Statement[],
};

/** Requests per second the API accepts (every route together), and the burst above it. */
export const API_THROTTLE = { rateLimit: 10, burstLimit: 20 };

export const api = new sst.aws.ApiGatewayV2("Api", {
  // Access logs (who called what, status, latency; never bodies), kept a year for audit.
  accessLog: { retention: "1 year" },
  // Operators, not traffic: a runaway script (POST /scan in a loop) gets 429s, not a fleet scan per call.
  transform: {
    stage: (args) => {
      args.defaultRouteSettings = {
        throttlingRateLimit: API_THROTTLE.rateLimit,
        throttlingBurstLimit: API_THROTTLE.burstLimit,
      };
    },
  },
});

const route = (key: LambdaName, link: unknown[], permissions: Statement[], description: string) =>
  api.route(
    key,
    {
      handler: lambdaHandler(key),
      nodejs: LAMBDA_NODEJS,
      description: `mtls-rotator API: ${description}`,
      runtime: "nodejs22.x",
      architecture: "arm64",
      memory: "512 MB",
      // API Gateway answers 503 after 30 s; a handler never needs that long (the scan runs elsewhere).
      timeout: "29 seconds",
      link: link as never,
      permissions,
    },
    { auth: { iam: true } },
  );

// Each route links only what its wiring reads (functions/api/wiring.ts): the table alone, except starting a
// rotation (settings, bundle bucket for the plan's trust targets, the workflow) and the scan (its function).
const readLinks = [rotationTableLink];
const rotationLinks = [
  rotationTableLink,
  rotationSettingsLink,
  trustBundleBucketLink,
  rotationWorkflowStarterLink,
];

export const apiRoutes = [
  route("GET /certificates", readLinks, apiPermissions.certificates, "list the inventory"),
  route("GET /certificates/{id}", readLinks, apiPermissions.certificates, "one certificate"),
  route("POST /rotations", rotationLinks, apiPermissions.startRotation, "start a rotation or plan a dry run"),
  route("GET /rotations", readLinks, apiPermissions.readRotations, "list rotations"),
  route("GET /rotations/{id}", readLinks, apiPermissions.readRotations, "one rotation and its history"),
  route("POST /rotations/{id}/rollback", readLinks, apiPermissions.rollbackRotation, "roll a rotation back"),
  route(
    "POST /rotations/{id}/approve",
    readLinks,
    apiPermissions.controlRotation,
    "approve a rotation's next wave",
  ),
  route("POST /scan", [scanFunctionLink], apiPermissions.startScan, "run the fleet scan now"),
  route("GET /viewer-mtls", readLinks, apiPermissions.viewerMtls, "the viewer mTLS inventory and drift"),
];
