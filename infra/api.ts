// The operator API: an API Gateway HTTP API where every route requires IAM authorization (SigV4; callers
// need execute-api:Invoke on the route), one Lambda per route (functions/handlers/api/*.ts), each linked to
// and granted only what its use-case touches. No statement has a wildcard action; "*" resources only where
// the action supports nothing narrower (noted).
import { TABLE_PARTITIONS } from "../functions/adapters/table-partitions.ts";
import { LAMBDA_NODEJS, type LambdaName, lambdaHandler } from "./lambdas";
import { notificationTopic, notificationTopicLink } from "./notifications";
import { deadRotationRelease, rotationSettingsLink, rotationWorkflow } from "./rotation";
import { settings } from "./settings";
import { rotationTable, rotationTableLink, trustBundleBucketLink } from "./storage";
import { rotationWorkflowStarterLink, scanFunction } from "./tracking";
import { viewerMigrationStarterLink, viewerMigrationWorkflow, viewerSettingsLink } from "./viewer-migration";

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

/**
 * The viewer revocation list's store (functions/config/viewer-settings.ts ViewerRevocationSettings): its ARN
 * when the stage configures one, nothing otherwise (the routes then answer 409 and change nothing).
 */
const revocationStoreArn = settings.viewerRevocations.storeArn;
export const viewerRevocationSettingsLink = new sst.Linkable("ViewerRevocationSettings", {
  properties: revocationStoreArn ? { storeArn: revocationStoreArn } : {},
});

/**
 * KeyValueStore data-plane actions on the revocation store alone; none without a store. Each action is named
 * as its operation and takes the `key-value-store` resource type (Service Authorization Reference, "Actions,
 * resources, and condition keys for Amazon CloudFront KeyValueStore",
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_cloudfront-keyvaluestore.html).
 */
const revocationStore = (actions: string[]): Statement[] =>
  revocationStoreArn
    ? [{ actions: actions.map((a) => `cloudfront-keyvaluestore:${a}`), resources: [revocationStoreArn] }]
    : [];

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

/** Items of viewer migrations (`VMIG#<id>`) and viewer trust domains (`VDOM#<domain>`: locks) only. */
const viewerItems = (actions: string[], partitions: string[]): Statement => ({
  actions,
  resources: [rotationTable.arn],
  conditions: [{ test: "ForAllValues:StringLike", variable: "dynamodb:LeadingKeys", values: partitions }],
});

/**
 * Reads of viewer migrations: a migration's items and history (its partition only), and the `list` index that
 * pages them newest first (its partition key is the list's, not an item's: no LeadingKeys there).
 */
const viewerMigrationReads: Statement[] = [
  viewerItems(["dynamodb:GetItem", "dynamodb:Query"], ["VMIG#*"]),
  { actions: ["dynamodb:Query"], resources: [$interpolate`${rotationTable.arn}/index/list`] },
];

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
  /**
   * POST /viewer-revocations: the store's ETag, whether the serial is revoked already, the conditional
   * write (functions/adapters/viewer-revocations.ts), and the audit notice.
   */
  revokeViewer: [
    ...revocationStore(["DescribeKeyValueStore", "GetKey", "PutKey"]),
    { actions: ["sns:Publish"], resources: [notificationTopic.arn] },
  ] as Statement[],
  /** GET /viewer-revocations/{serial}: one key. */
  readViewerRevocation: revocationStore(["GetKey"]),
  /** DELETE /viewer-revocations/{serial}: the record, the ETag, the conditional delete, the audit notice. */
  reinstateViewer: [
    ...revocationStore(["DescribeKeyValueStore", "GetKey", "DeleteKey"]),
    { actions: ["sns:Publish"], resources: [notificationTopic.arn] },
  ] as Statement[],
  /** GET /viewer-migrations, GET /viewer-migrations/{id}. */
  readViewerMigrations: viewerMigrationReads,
  /**
   * POST /viewer-migrations: earlier attempts' status, the domain's lock, and a durable start of the viewer
   * migration workflow (its published version).
   */
  startViewerMigration: [
    viewerItems(["dynamodb:GetItem"], ["VMIG#*", "VDOM#*"]),
    {
      actions: ["lambda:InvokeFunction"],
      resources: [$interpolate`${viewerMigrationWorkflow.arn}:${viewerMigrationWorkflow.qualifier}`],
    },
    // A dead holder's lock released (functions/dispatch/start-viewer-migration.ts liveViewerLockHolder):
    // Lambda's word on the holder's execution (the action's resource is the function, unqualified: Service
    // Authorization Reference), and the conditional delete of the domain's lock item only.
    {
      actions: ["lambda:ListDurableExecutionsByFunction"],
      resources: [viewerMigrationWorkflow.arn],
    },
    viewerItems(["dynamodb:DeleteItem"], ["VDOM#*"]),
  ] as Statement[],
  /** POST /viewer-migrations/{id}/approve, /rollback: the open approval, and answering its callback. */
  controlViewerMigration: [
    viewerItems(["dynamodb:GetItem"], ["VMIG#*"]),
    {
      actions: ["lambda:SendDurableExecutionCallbackSuccess"],
      resources: [$interpolate`${viewerMigrationWorkflow.arn}:*`],
    },
  ] as Statement[],
  /**
   * POST /viewer-migrations/{id}/rollback: the approval's, and recording a rollback asked for while none is
   * open (functions/dispatch/control-viewer-migration.ts): a conditional PutItem of a migration's items only.
   */
  rollbackViewerMigration: [
    viewerItems(["dynamodb:GetItem"], ["VMIG#*"]),
    {
      actions: ["lambda:SendDurableExecutionCallbackSuccess"],
      resources: [$interpolate`${viewerMigrationWorkflow.arn}:*`],
    },
    viewerItems(["dynamodb:PutItem"], ["VMIG#*"]),
  ] as Statement[],
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
// rotation (settings, bundle bucket for the plan's trust targets, the workflow), the scan (its function) and
// the viewer revocation routes (the store's settings; the topic for the changes' audit notices).
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
  route(
    "POST /viewer-revocations",
    [viewerRevocationSettingsLink, notificationTopicLink],
    apiPermissions.revokeViewer,
    "revoke a viewer certificate at the edge",
  ),
  route(
    "GET /viewer-revocations/{serial}",
    [viewerRevocationSettingsLink],
    apiPermissions.readViewerRevocation,
    "whether a viewer certificate is revoked",
  ),
  route(
    "DELETE /viewer-revocations/{serial}",
    [viewerRevocationSettingsLink, notificationTopicLink],
    apiPermissions.reinstateViewer,
    "reinstate a revoked viewer certificate",
  ),
  route(
    "POST /viewer-migrations",
    [rotationTableLink, viewerSettingsLink, viewerMigrationStarterLink],
    apiPermissions.startViewerMigration,
    "start a viewer CA migration or its dry run",
  ),
  route("GET /viewer-migrations", readLinks, apiPermissions.readViewerMigrations, "list viewer migrations"),
  route(
    "GET /viewer-migrations/{id}",
    readLinks,
    apiPermissions.readViewerMigrations,
    "one viewer migration and its history",
  ),
  route(
    "POST /viewer-migrations/{id}/approve",
    readLinks,
    apiPermissions.controlViewerMigration,
    "approve a viewer migration's announcement",
  ),
  route(
    "POST /viewer-migrations/{id}/rollback",
    readLinks,
    apiPermissions.rollbackViewerMigration,
    "roll a viewer migration back",
  ),
  route("GET /viewer-mtls", readLinks, apiPermissions.viewerMtls, "the viewer mTLS inventory and drift"),
];
