/**
 * Where moto 5.2 is known NOT to behave as AWS documents: the one table the differential checks
 * (test/differential/) cite. A case whose comparison would only show one of these is registered with
 * `it.skip` and a name that carries the entry's id, so the skip is visible in the test output; a case that
 * merely passes through a deviation on its way to something else normalises it and names the id too.
 *
 * Each entry says what moto does (checked against moto 5.2.5 in server mode, see `moto/<service>/models.py`)
 * and what AWS does, with the AWS documentation that says so. When moto fixes one, the skipped case starts
 * to pass if un-skipped: delete the entry and the `deviation:` option that cites it.
 */

export interface MotoDeviation {
  /** What moto does instead. */
  moto: string;
  /** What AWS does. */
  aws: string;
  /** Where AWS documents it. */
  doc: string;
}

export const KNOWN_MOTO_DEVIATIONS = {
  // ---- services moto must not be used for at all (the moto side of the harness refuses their clients) ----
  "cloudfront.origin-mtls-dropped": {
    moto: "drops CustomOriginConfig.OriginMtlsConfig from the distribution config it stores and returns",
    aws: "keeps OriginMtlsConfig.ClientCertificateArn in the config GetDistributionConfig returns",
    doc: "https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CustomOriginConfig.html",
  },
  "cloudfront.if-match-ignored": {
    moto: "ignores IfMatch on UpdateDistribution (a stale ETag updates anyway)",
    aws: "answers 412 PreconditionFailed when IfMatch is not the current ETag",
    doc: "https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_UpdateDistribution.html",
  },
  "acm.imported-certificate-details": {
    moto: "has no SearchCertificates, reports serials in decimal and imported certificates with empty EKUs",
    aws: "reports the certificate's serial (colon-separated hex) and its extended key usages",
    doc: "https://docs.aws.amazon.com/acm/latest/APIReference/API_CertificateDetail.html",
  },
  "acm-pca.client-auth-template": {
    moto: "issues EndEntityClientAuthCertificate/V1 without the clientAuth EKU; ignores IdempotencyToken, validity and RequestInProgress",
    aws: "the template sets extended key usage TLS web client authentication",
    doc: "https://docs.aws.amazon.com/privateca/latest/userguide/template-definitions.html#EndEntityClientAuthCertificate-V1",
  },

  // ---- Secrets Manager ---------------------------------------------------------------------------------
  "secretsmanager.pending-put-rewrites-version": {
    moto:
      "a PutSecretValue repeating the ClientRequestToken of a version that holds AWSPENDING rewrites that version: " +
      "a different value is accepted and replaces the old one, and the labels are replaced by VersionStages " +
      "(a first version loses the AWSCURRENT it was given)",
    aws:
      "the same token with the same value is ignored; the same token with a different value fails " +
      "(ResourceExistsException): a version's value never changes",
    doc: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html",
  },
  "secretsmanager.not-found-http-404": {
    moto: "answers ResourceNotFoundException with HTTP 404",
    aws: "ResourceNotFoundException is HTTP 400, as every Secrets Manager client error",
    doc: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html#API_GetSecretValue_Errors",
  },
  "secretsmanager.default-version-not-moved": {
    moto:
      "GetSecretValue without VersionId/VersionStage answers the version the last PutSecretValue made current, " +
      "even after UpdateSecretVersionStage moved AWSCURRENT elsewhere",
    aws: "without VersionStage or VersionId, GetSecretValue returns the AWSCURRENT version",
    doc: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html",
  },
  "secretsmanager.describe-lists-unlabelled-versions": {
    moto: "DescribeSecret lists versions without staging labels in VersionIdsToStages, with an empty list",
    aws: "VersionIdsToStages is the list of the versions that have staging labels attached",
    doc: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html",
  },
  "secretsmanager.list-versions-ignores-include-deprecated": {
    moto: "ListSecretVersionIds lists versions without labels even when IncludeDeprecated is not true",
    aws: "versions without staging labels (deprecated) are listed only with IncludeDeprecated=true",
    doc: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecretVersionIds.html",
  },
  "secretsmanager.list-versions-arn-is-name": {
    moto: "ListSecretVersionIds answers the secret's name (the SecretId it was given) in its ARN member",
    aws: "ARN is the ARN of the secret",
    doc: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecretVersionIds.html#API_ListSecretVersionIds_ResponseSyntax",
  },
  "secretsmanager.list-versions-missing-secret": {
    moto: "ListSecretVersionIds of a secret that does not exist crashes (KeyError, HTTP 500)",
    aws: "ResourceNotFoundException (HTTP 400)",
    doc: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecretVersionIds.html#API_ListSecretVersionIds_Errors",
  },
  "secretsmanager.model-limits-unchecked": {
    moto: "accepts a SecretString over 65,536 bytes, more than 20 VersionStages and names outside the allowed characters",
    aws: "SecretString at most 65,536 bytes, VersionStages 1..20 items, names of letters, digits and /_+=.@-",
    doc: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html#API_PutSecretValue_RequestParameters",
  },
  "secretsmanager.put-current-from-stale-holder": {
    moto:
      "a PutSecretValue that makes a version AWSCURRENT takes the label from, and gives AWSPREVIOUS to, the version " +
      "the last CreateSecret/PutSecretValue made current (its default version), not the version holding AWSCURRENT: " +
      "after UpdateSecretVersionStage moved AWSCURRENT, two versions hold AWSCURRENT and AWSPREVIOUS lands on the " +
      "wrong one (the same stale default version as secretsmanager.default-version-not-moved)",
    aws:
      "each staging label is attached to one version at a time: AWSCURRENT is removed from the version that holds " +
      "it, and AWSPREVIOUS moves to that version",
    doc: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html#API_PutSecretValue_RequestParameters",
  },
  "secretsmanager.put-current-replaces-old-labels": {
    moto:
      "a PutSecretValue that moves AWSCURRENT replaces every label of the version it took AWSCURRENT from with " +
      "[AWSPREVIOUS]: AWSPENDING (or any other label) there is dropped",
    aws:
      "only the labels named move: AWSCURRENT to the new version (removed from the other version), AWSPREVIOUS to " +
      "the version AWSCURRENT was removed from; that version keeps its other labels",
    doc: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html#API_PutSecretValue_RequestParameters",
  },
  "secretsmanager.move-current-without-holder": {
    moto: "UpdateSecretVersionStage AWSCURRENT with MoveToVersionId and no RemoveFromVersionId crashes (IndexError, HTTP 500) when no version holds AWSCURRENT",
    aws: "RemoveFromVersionId is needed only when the label is attached to another version",
    doc: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html",
  },

  // ---- SNS ---------------------------------------------------------------------------------------------
  "sns.subject-not-validated": {
    moto: "accepts subjects of exactly 100 characters and subjects with line breaks or tabs (it only refuses more than 100)",
    aws: "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters long",
    doc: "https://docs.aws.amazon.com/sns/latest/api/API_Publish.html",
  },
  "sns.attribute-names-not-validated": {
    moto: "accepts any message attribute name (spaces, leading periods, AWS. prefixes)",
    aws: "names of A-Z a-z 0-9 _ - . only, not starting or ending with a period, no successive periods, no AWS./Amazon. prefix",
    doc: "https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html",
  },
  "sns.parameter-value-invalid-code": {
    moto:
      "answers invalid attribute values (a Number that is not a number, an empty value, an unknown type) with error " +
      "code InvalidParameter (SDK InvalidParameterException); its own message for the Number case quotes AWS's " +
      '"An error occurred (ParameterValueInvalid)"',
    aws: "answers ParameterValueInvalid (SDK InvalidParameterValueException), the Publish error for attribute values",
    doc: "https://docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_Errors",
  },
  "sns.message-size-counts-characters": {
    moto: "limits len(Message) in characters to 262,144 and leaves the attributes out",
    aws: "262,144 bytes (not characters); the combined size of the message body and message attributes is validated",
    doc: "https://docs.aws.amazon.com/sns/latest/api/API_Publish.html",
  },
  "sns.message-structure-unchecked": {
    moto: 'accepts MessageStructure=json with a Message that is not JSON or has no "default" key',
    aws: 'with MessageStructure json the Message must be a valid JSON object with a top-level string "default"',
    doc: "https://docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_RequestParameters",
  },
  "sns.empty-message-accepted": {
    moto: "accepts an empty Message",
    aws: "the message body should not be empty or null (AWS answers InvalidParameter: Empty message)",
    doc: "https://docs.aws.amazon.com/sns/latest/api/API_MessageAttributeValue.html",
  },

  // ---- S3 ----------------------------------------------------------------------------------------------
  "s3.user-metadata-size-unchecked": {
    moto: "accepts user-defined metadata over 2 KB",
    aws: "PUT request headers' user-defined metadata is limited to 2 KB (MetadataTooLarge)",
    doc: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html#UserMetadata",
  },

  // ---- DynamoDB ----------------------------------------------------------------------------------------
  "dynamodb.consumed-capacity-unasked": {
    moto: "answers ConsumedCapacity (and an empty ItemCollectionMetrics) on writes that did not ask for them",
    aws: "ConsumedCapacity is returned only if ReturnConsumedCapacity was TOTAL or INDEXES (default NONE)",
    doc: "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html#DDB-UpdateItem-response-ConsumedCapacity",
  },
  "dynamodb.index-key-type-unchecked": {
    moto: "stores an item whose index key attribute has another type than the index's attribute definition",
    aws: "the data types of attributes that are part of an index key must match the table's attribute definitions (ValidationException)",
    doc: "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html#DDB-PutItem-request-Item",
  },
  "dynamodb.query-limit-zero": {
    moto: "crashes (HTTP 500) on a Query with Limit 0",
    aws: "Limit has a minimum of 1 (ValidationException)",
    doc: "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html#DDB-Query-request-Limit",
  },
  "dynamodb.batch-write-over-25": {
    moto: "accepts a BatchWriteItem with more than 25 requests",
    aws: "up to 25 item put or delete operations per call; more is a ValidationException",
    doc: "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html",
  },
} as const satisfies Record<string, MotoDeviation>;

export type MotoDeviationId = keyof typeof KNOWN_MOTO_DEVIATIONS;

/**
 * Differences the checks found where moto follows AWS's documentation and our stand-in does not, and that
 * are not fixed on this branch: their cases are `it.fails` (green while the stand-in is wrong, red once it is
 * fixed — then flip them to `it`).
 */
export const KNOWN_STANDIN_GAPS = {
  "s3.list-versions-delimiter": {
    standin:
      "answers ListObjectVersions with a Delimiter 501 NotImplemented (it does not model CommonPrefixes; no adapter lists)",
    aws: "keys sharing the prefix up to the delimiter are rolled up into CommonPrefixes",
    doc: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html#API_ListObjectVersions_RequestSyntax",
  },
  "dynamodb.empty-index-key": {
    standin:
      "dynalite (the project's DynamoDB for tests, not our code) stores an item whose global secondary index key is an empty string",
    aws: "String and Binary values must be longer than zero when the attribute is a key attribute of a table or index",
    doc: "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html#DDB-PutItem-request-Item",
  },
} as const satisfies Record<string, { standin: string; aws: string; doc: string }>;

export type StandinGapId = keyof typeof KNOWN_STANDIN_GAPS;

/**
 * moto and the stand-in differ, and AWS's documentation does not say which is right. Skipped by name until
 * someone settles it (a documentation page, or a call against real AWS); then it becomes a moto deviation or a
 * stand-in gap.
 */
export const UNSETTLED_DIFFERENCES = {
  "sns.more-than-10-attributes": {
    moto: "accepts a Publish with 11 message attributes",
    standin:
      'refuses it: ParameterValueInvalid, "Number of message attributes [11] exceeds the allowed maximum [10]."',
    docs:
      "The SNS developer guide (sns-message-attributes) limits 10 attributes only for raw message delivery to SQS " +
      "subscriptions and says to send more than 10 with raw delivery off; older versions of that page said " +
      '"each message can have up to 10 attributes". The stand-in stays strict: what it accepts, AWS accepts under ' +
      "either reading.",
  },
  "sns.subject-non-ascii-or-leading-space": {
    moto: 'accepts the subjects "café" and " x"',
    standin:
      "refuses both (InvalidParameter): printable ASCII beginning with a letter, number or punctuation mark",
    docs:
      'The Publish reference says "UTF-8 text with no line breaks or control characters, and less than 100 ' +
      'characters"; older wording said ASCII beginning with a letter, number or punctuation mark. The stand-in ' +
      "keeps the stricter reading on purpose (and toSubject() only makes such subjects).",
  },
  "sns.topic-in-another-region": {
    moto: "Publish to a topic ARN of another region than the endpoint's: NotFound (404)",
    standin: "InvalidParameter (400)",
    docs: "Not documented.",
  },
  "secretsmanager.version-and-other-stage": {
    moto: "GetSecretValue with a VersionId and a VersionStage held by another version: InvalidRequestException (HTTP 404)",
    standin: "ResourceNotFoundException (HTTP 400)",
    docs: 'GetSecretValue: "the two parameters must refer to the same secret version"; the error is not documented.',
  },
  "secretsmanager.move-to-missing-version": {
    moto: "UpdateSecretVersionStage with a MoveToVersionId that does not exist: InvalidParameterException",
    standin: "ResourceNotFoundException",
    docs: "UpdateSecretVersionStage lists both errors without saying which one a missing version gets.",
  },
  "dynamodb.query-start-key-outside-condition": {
    moto: "a Query whose ExclusiveStartKey lacks the index's keys, or lies in another partition, answers an empty page",
    standin:
      "dynalite refuses it (ValidationException: the provided starting key is invalid / outside query boundaries)",
    docs: 'Query\'s ExclusiveStartKey is "the primary key of the first item that this operation will evaluate"; what a key outside the condition gets is not documented.',
  },
  "dynamodb.item-size-400000-or-409600": {
    moto: "refuses items over 400,000 bytes",
    standin: "dynalite refuses items over 409,600 bytes (400 KiB); so does the rotation store's own check",
    docs: '"The maximum item size in DynamoDB is 400 KB" (service quotas) without saying whether KB is 1,000 or 1,024 bytes.',
  },
} as const satisfies Record<string, { moto: string; standin: string; docs: string }>;

export type UnsettledId = keyof typeof UNSETTLED_DIFFERENCES;
