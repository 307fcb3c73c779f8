// Where rotations keep state (DynamoDB) and where the trust bundle is published (versioned S3 bucket).

/**
 * The rotation store's table: exactly the key schema of `rotationTableDefinition` in
 * functions/adapters/rotation-store.ts (pk/sk strings; GSI `list` on gsi1pk/gsi1sk projecting the summary).
 * test/infra/infra.test.ts compares the two.
 */
export const rotationTable = new sst.aws.Dynamo("Rotations", {
  fields: { pk: "string", sk: "string", gsi1pk: "string", gsi1sk: "string" },
  primaryIndex: { hashKey: "pk", rangeKey: "sk" },
  globalIndexes: {
    list: {
      hashKey: "gsi1pk",
      rangeKey: "gsi1sk",
      projection: ["rotationId", "certificateArn", "status", "startedAt", "updatedAt"],
    },
  },
  deletionProtection: $app.stage === "production",
});

/**
 * Trust bundles origins fetch. Versioned: every published bundle stays retrievable, so an origin can be
 * pointed back at the previous one. Private (SST blocks public access and enforces HTTPS by default).
 */
export const trustBundleBucket = new sst.aws.Bucket("TrustBundles", { versioning: true });

// What functions link: names only. Permissions are granted per function (infra/rotation.ts), narrower than
// the `dynamodb:*` / `s3:*` a link to the components themselves would grant.
export const rotationTableLink = new sst.Linkable("RotationTable", {
  properties: { name: rotationTable.name },
});

export const trustBundleBucketLink = new sst.Linkable("TrustBundleBucket", {
  properties: { name: trustBundleBucket.name },
});
