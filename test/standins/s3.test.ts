/**
 * The S3 stand-in, driven by the real `@aws-sdk/client-s3` (path-style) over loopback HTTP: versioned puts
 * keep every version, unknown buckets/keys/versions answer as S3 does (HEAD without a body), the size and
 * metadata caps, and bodies that must match what the SDK signed and summed.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STANDIN_CREDENTIALS, type Standins, startStandins } from "../../standins/index.ts";
import { DEFAULT_MAX_OBJECT_BYTES } from "../../standins/s3.ts";

let s: Standins;
let s3: S3Client;
let counter = 0;

beforeAll(async () => {
  s = await startStandins();
  s3 = s.clients({ maxAttempts: 1 }).s3;
});

afterAll(async () => {
  await s?.close();
});

function bucket(versioned = true): string {
  counter += 1;
  const name = `bundles-${counter}`;
  s.s3.createBucket(name, { versioned });
  return name;
}

function put(input: PutObjectCommandInput, client: S3Client = s3) {
  return client.send(new PutObjectCommand(input));
}

async function text(bucketName: string, key: string, versionId?: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucketName, Key: key, VersionId: versionId }));
  return (await out.Body?.transformToString()) ?? "";
}

const md5 = (body: string | Buffer) => `"${createHash("md5").update(body).digest("hex")}"`;

/** An SDK client whose request is altered after it was signed and summed (as a broken proxy might). */
function tamperingClient(alter: (request: { headers: Record<string, string>; body: unknown }) => void) {
  const client = new S3Client({
    region: "us-east-1",
    endpoint: s.endpoint,
    credentials: STANDIN_CREDENTIALS,
    forcePathStyle: true,
    maxAttempts: 1,
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      alter(args.request as { headers: Record<string, string>; body: unknown });
      return next(args);
    },
    { step: "deserialize", name: "tamperAfterSigning" },
  );
  return client;
}

describe("objects", () => {
  it("[s3.integrity-checks] stores body, content type and user metadata; answers ETag (quoted MD5) and the version id", async () => {
    const b = bucket();
    const body = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const out = await put({
      Bucket: b,
      Key: "trust/bundle.pem",
      Body: body,
      ContentType: "application/x-pem-file",
      Metadata: { fingerprint: "ab12", rotation: "r-1" },
    });
    expect(out.ETag).toBe(md5(body));
    expect(out.VersionId).toMatch(/^[A-Za-z0-9_-]{32}$/);

    const got = await s3.send(new GetObjectCommand({ Bucket: b, Key: "trust/bundle.pem" }));
    expect(await got.Body?.transformToString()).toBe(body);
    expect(got).toMatchObject({
      ContentType: "application/x-pem-file",
      ContentLength: Buffer.byteLength(body),
      ETag: md5(body),
      VersionId: out.VersionId,
      Metadata: { fingerprint: "ab12", rotation: "r-1" },
    });
    expect(got.LastModified).toBeInstanceOf(Date);

    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: "trust/bundle.pem" }));
    expect(head).toMatchObject({
      ContentType: "application/x-pem-file",
      ContentLength: Buffer.byteLength(body),
      ETag: md5(body),
      VersionId: out.VersionId,
      Metadata: { fingerprint: "ab12", rotation: "r-1" },
    });
    expect(s.s3.object(b, "trust/bundle.pem")).toMatchObject({
      versionId: out.VersionId,
      contentType: "application/x-pem-file",
      metadata: { fingerprint: "ab12", rotation: "r-1" },
      isLatest: true,
    });
  });

  it("keeps keys with spaces, slashes and non-ASCII characters apart", async () => {
    const b = bucket();
    const keys = ["a/b c.pem", "a/b%20c.pem", "ä/ö+ü.pem", "deep/ly/nested/key"];
    for (const key of keys) await put({ Bucket: b, Key: key, Body: `body of ${key}` });
    for (const key of keys) expect(await text(b, key)).toBe(`body of ${key}`);
  });

  it("round-trips binary bodies byte for byte, with the CRC32 the SDK sent and validates on the way back", async () => {
    const b = bucket();
    const body = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    const out = await put({ Bucket: b, Key: "bin", Body: body });
    expect(out.ChecksumCRC32).toMatch(/^[A-Za-z0-9+/]{6}==$/);

    const got = await s3.send(new GetObjectCommand({ Bucket: b, Key: "bin", ChecksumMode: "ENABLED" }));
    expect(got.ChecksumCRC32).toBe(out.ChecksumCRC32);
    expect(Buffer.from((await got.Body?.transformToByteArray()) ?? [])).toEqual(body);
    expect(s.s3.object(b, "bin")?.body).toEqual(body);
  });

  it("accepts a streamed body (aws-chunked with a checksum trailer)", async () => {
    const b = bucket();
    const parts = ["first part, ", "second part, ", "third part"];
    const out = await put({
      Bucket: b,
      Key: "streamed",
      Body: Readable.from(parts.map((p) => Buffer.from(p))),
      ContentLength: parts.join("").length,
    });
    expect(out.ETag).toBe(md5(parts.join("")));
    expect(await text(b, "streamed")).toBe(parts.join(""));
    expect(s.s3.object(b, "streamed")?.checksum?.algorithm).toBe("crc32");
  });
});

describe("versioning", () => {
  it("[s3.versioning-new-version-per-put] creates a new version on every put of a versioned bucket and keeps older versions retrievable", async () => {
    const b = bucket();
    const v1 = (await put({ Bucket: b, Key: "bundle.pem", Body: "one" })).VersionId;
    const v2 = (await put({ Bucket: b, Key: "bundle.pem", Body: "two" })).VersionId;
    const v3 = (await put({ Bucket: b, Key: "bundle.pem", Body: "two" })).VersionId;
    expect(new Set([v1, v2, v3]).size).toBe(3);

    expect(await text(b, "bundle.pem")).toBe("two");
    expect(await text(b, "bundle.pem", v1)).toBe("one");
    expect(await text(b, "bundle.pem", v2)).toBe("two");
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: "bundle.pem", VersionId: v1 }));
    expect(head).toMatchObject({ VersionId: v1, ETag: md5("one"), ContentLength: 3 });

    expect(s.s3.versions(b, "bundle.pem").map((v) => [v.versionId, v.body.toString(), v.isLatest])).toEqual([
      [v3, "two", true],
      [v2, "two", false],
      [v1, "one", false],
    ]);
    expect(s.s3.object(b, "bundle.pem", v1)?.body.toString()).toBe("one");
    expect(s.s3.object(b, "bundle.pem", "no-such-version")).toBeUndefined();
  });

  it("[s3.list-versions-order] lists versions newest first per key, with IsLatest, and pages with markers", async () => {
    const b = bucket();
    const a1 = (await put({ Bucket: b, Key: "a", Body: "a1" })).VersionId;
    const a2 = (await put({ Bucket: b, Key: "a", Body: "a2" })).VersionId;
    const b1 = (await put({ Bucket: b, Key: "b", Body: "b1" })).VersionId;
    await put({ Bucket: b, Key: "other", Body: "x" });

    const all = await s3.send(new ListObjectVersionsCommand({ Bucket: b, Prefix: "a" }));
    expect(all.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size, v.ETag])).toEqual([
      ["a", a2, true, 2, md5("a2")],
      ["a", a1, false, 2, md5("a1")],
    ]);
    expect(all.IsTruncated).toBe(false);

    const first = await s3.send(new ListObjectVersionsCommand({ Bucket: b, MaxKeys: 2 }));
    expect(first.Versions?.map((v) => v.VersionId)).toEqual([a2, a1]);
    expect(first).toMatchObject({ IsTruncated: true, NextKeyMarker: "a", NextVersionIdMarker: a1 });
    const second = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: b,
        MaxKeys: 2,
        KeyMarker: first.NextKeyMarker,
        VersionIdMarker: first.NextVersionIdMarker,
      }),
    );
    expect(second.Versions?.map((v) => [v.Key, v.VersionId])).toEqual([
      ["b", b1],
      ["other", expect.any(String)],
    ]);
  });

  it("[s3.unversioned-null-version] overwrites the single 'null' version of an unversioned bucket and answers no version id", async () => {
    const b = bucket(false);
    const first = await put({ Bucket: b, Key: "k", Body: "one" });
    await put({ Bucket: b, Key: "k", Body: "two" });
    expect(first.VersionId).toBeUndefined();
    expect(await text(b, "k")).toBe("two");
    expect(s.s3.versions(b, "k").map((v) => [v.versionId, v.body.toString()])).toEqual([["null", "two"]]);
  });

  it("turns versioning on through PutBucketVersioning", async () => {
    const b = bucket(false);
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: "Enabled" } }),
    );
    expect(s.s3.versioning(b)).toBe("Enabled");
    const v1 = (await put({ Bucket: b, Key: "k", Body: "one" })).VersionId;
    await put({ Bucket: b, Key: "k", Body: "two" });
    expect(v1).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await text(b, "k", v1)).toBe("one");
  });
});

describe("not found", () => {
  it("[s3.not-found-codes] answers 404 NoSuchBucket for a bucket that does not exist", async () => {
    await expect(put({ Bucket: "no-such-bucket", Key: "k", Body: "x" })).rejects.toMatchObject({
      name: "NoSuchBucket",
      $metadata: { httpStatusCode: 404 },
    });
    await expect(s3.send(new GetObjectCommand({ Bucket: "no-such-bucket", Key: "k" }))).rejects.toMatchObject(
      { name: "NoSuchBucket", $metadata: { httpStatusCode: 404 } },
    );
    await expect(s3.send(new HeadBucketCommand({ Bucket: "no-such-bucket" }))).rejects.toMatchObject({
      name: "NotFound",
      $metadata: { httpStatusCode: 404 },
    });
  });

  it("[s3.not-found-codes] answers 404 NoSuchKey for a missing key, and a bare 404 (NotFound) to HEAD", async () => {
    const b = bucket();
    await expect(s3.send(new GetObjectCommand({ Bucket: b, Key: "missing" }))).rejects.toMatchObject({
      name: "NoSuchKey",
      $metadata: { httpStatusCode: 404 },
    });
    await expect(s3.send(new HeadObjectCommand({ Bucket: b, Key: "missing" }))).rejects.toMatchObject({
      name: "NotFound",
      $metadata: { httpStatusCode: 404 },
    });
  });

  it("[s3.not-found-codes] answers 404 NoSuchVersion for a version that does not exist", async () => {
    const b = bucket();
    await put({ Bucket: b, Key: "k", Body: "x" });
    await expect(
      s3.send(new GetObjectCommand({ Bucket: b, Key: "k", VersionId: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" })),
    ).rejects.toMatchObject({ name: "NoSuchVersion", $metadata: { httpStatusCode: 404 } });
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: b, Key: "k", VersionId: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" })),
    ).rejects.toMatchObject({ name: "NotFound", $metadata: { httpStatusCode: 404 } });
  });

  it("[s3.region-mismatch] refuses a request signed for another region than the bucket's", async () => {
    const b = bucket();
    const elsewhere = s.clients({ region: "eu-west-1", maxAttempts: 1 }).s3;
    await expect(put({ Bucket: b, Key: "k", Body: "x" }, elsewhere)).rejects.toMatchObject({
      name: "AuthorizationHeaderMalformed",
      $metadata: { httpStatusCode: 400 },
    });
    expect(s.s3.versions(b, "k")).toEqual([]);
  });
});

describe("limits and integrity", () => {
  it(`[s3.object-size-cap] caps objects at ${DEFAULT_MAX_OBJECT_BYTES} bytes (AWS: 5 GB per PUT) with 400 EntityTooLarge`, async () => {
    const b = bucket();
    await put({ Bucket: b, Key: "max", Body: Buffer.alloc(DEFAULT_MAX_OBJECT_BYTES, 7) });
    expect(s.s3.object(b, "max")?.size).toBe(DEFAULT_MAX_OBJECT_BYTES);
    await expect(
      put({ Bucket: b, Key: "too-big", Body: Buffer.alloc(DEFAULT_MAX_OBJECT_BYTES + 1, 7) }),
    ).rejects.toMatchObject({ name: "EntityTooLarge", $metadata: { httpStatusCode: 400 } });
    expect(s.s3.versions(b, "too-big")).toEqual([]);
  });

  it("[s3.metadata-2kb] caps user metadata at 2 KB with 400 MetadataTooLarge", async () => {
    const b = bucket();
    await put({ Bucket: b, Key: "ok", Body: "x", Metadata: { k: "v".repeat(2047) } });
    await expect(
      put({ Bucket: b, Key: "too-much", Body: "x", Metadata: { k: "v".repeat(2048) } }),
    ).rejects.toMatchObject({ name: "MetadataTooLarge", $metadata: { httpStatusCode: 400 } });
  });

  it("[s3.integrity-checks] refuses a body that does not match its signed SHA-256 (XAmzContentSHA256Mismatch)", async () => {
    const b = bucket();
    const client = tamperingClient((request) => {
      request.body = "tampered";
      request.headers["content-length"] = "8";
    });
    await expect(put({ Bucket: b, Key: "k", Body: "original" }, client)).rejects.toMatchObject({
      name: "XAmzContentSHA256Mismatch",
      $metadata: { httpStatusCode: 400 },
    });
    expect(s.s3.versions(b, "k")).toEqual([]);
    client.destroy();
  });

  it("[s3.integrity-checks] refuses a body that does not match its CRC32 or Content-MD5 (BadDigest)", async () => {
    const b = bucket();
    const wrongCrc = tamperingClient((request) => {
      request.headers["x-amz-checksum-crc32"] = "AAAAAA==";
    });
    await expect(put({ Bucket: b, Key: "k", Body: "x" }, wrongCrc)).rejects.toMatchObject({
      name: "BadDigest",
      $metadata: { httpStatusCode: 400 },
    });
    const wrongMd5 = tamperingClient((request) => {
      request.headers["content-md5"] = createHash("md5").update("y").digest("base64");
    });
    await expect(put({ Bucket: b, Key: "k", Body: "x" }, wrongMd5)).rejects.toMatchObject({
      name: "BadDigest",
    });
    expect(s.s3.versions(b, "k")).toEqual([]);
    wrongCrc.destroy();
    wrongMd5.destroy();
  });

  it("[s3.unsupported-refused] answers 501 NotImplemented for what it does not model instead of ignoring it", async () => {
    const b = bucket();
    await put({ Bucket: b, Key: "k", Body: "0123456789" });
    await expect(
      s3.send(new GetObjectCommand({ Bucket: b, Key: "k", Range: "bytes=0-3" })),
    ).rejects.toMatchObject({ name: "NotImplemented", $metadata: { httpStatusCode: 501 } });
    // Conditional reads, and If-None-Match with an ETag on a write, are not modelled (s3.conditional-put).
    await expect(put({ Bucket: b, Key: "k", Body: "x", IfNoneMatch: '"abc"' })).rejects.toMatchObject({
      name: "NotImplemented",
    });
    await expect(
      s3.send(new GetObjectCommand({ Bucket: b, Key: "k", IfMatch: '"abc"' })),
    ).rejects.toMatchObject({ name: "NotImplemented" });
    await expect(s3.send(new DeleteObjectCommand({ Bucket: b, Key: "k" }))).rejects.toMatchObject({
      name: "NotImplemented",
    });
    // Refused under the name of the S3 operation it is, so AWS's model checked it as DeleteObject (a made-up
    // operation name would be refused by the model check as UnknownOperationException instead).
    expect(s.server.calls.at(-1)).toMatchObject({
      service: "s3",
      operation: "DeleteObject",
      status: 501,
      error: "NotImplemented",
    });
    // A listing delimiter would group keys into CommonPrefixes: not modelled, so not silently ignored either.
    await expect(s3.send(new ListObjectVersionsCommand({ Bucket: b, Delimiter: "/" }))).rejects.toMatchObject(
      { name: "NotImplemented", $metadata: { httpStatusCode: 501 } },
    );
    expect(s.server.calls.at(-1)).toMatchObject({ operation: "ListObjectVersions", status: 501 });
    expect(await text(b, "k")).toBe("0123456789");
  });
});

describe("conditional writes", () => {
  it("[s3.conditional-put] writes with If-None-Match: * only when there is no object, with If-Match only over the ETag given", async () => {
    const b = bucket();
    const created = await put({ Bucket: b, Key: "k", Body: "one", IfNoneMatch: "*" });
    await expect(put({ Bucket: b, Key: "k", Body: "two", IfNoneMatch: "*" })).rejects.toMatchObject({
      name: "PreconditionFailed",
      $metadata: { httpStatusCode: 412 },
    });
    expect(await text(b, "k")).toBe("one");
    await expect(
      put({ Bucket: b, Key: "k", Body: "two", IfMatch: '"0123456789abcdef0123456789abcdef"' }),
    ).rejects.toMatchObject({
      name: "PreconditionFailed",
      $metadata: { httpStatusCode: 412 },
    });
    expect(await text(b, "k")).toBe("one");
    const replaced = await put({ Bucket: b, Key: "k", Body: "two", IfMatch: created.ETag });
    expect(await text(b, "k")).toBe("two");
    // The ETag read before is stale now; unquoted ETags match like quoted ones.
    await expect(put({ Bucket: b, Key: "k", Body: "three", IfMatch: created.ETag })).rejects.toMatchObject({
      name: "PreconditionFailed",
    });
    await put({ Bucket: b, Key: "k", Body: "three", IfMatch: replaced.ETag!.replaceAll('"', "") });
    expect(await text(b, "k")).toBe("three");
    await expect(put({ Bucket: b, Key: "absent", Body: "x", IfMatch: created.ETag })).rejects.toMatchObject({
      name: "NoSuchKey",
      $metadata: { httpStatusCode: 404 },
    });
    expect(s.s3.versions(b, "absent")).toEqual([]);
  });
});

describe("buckets over HTTP", () => {
  it("[s3.create-bucket-us-east-1] creates a bucket; us-east-1 answers 200 to its owner re-creating it; bad names are refused", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "created-over-http" }));
    expect(s.s3.buckets()).toContain("created-over-http");
    expect(s.s3.versioning("created-over-http")).toBe("Unversioned");
    await s3.send(new CreateBucketCommand({ Bucket: "created-over-http" }));
    await s3.send(new HeadBucketCommand({ Bucket: "created-over-http" }));

    await expect(s3.send(new CreateBucketCommand({ Bucket: "Upper_Case" }))).rejects.toMatchObject({
      name: "InvalidBucketName",
    });
    const eu = s.clients({ region: "eu-west-1", maxAttempts: 1 }).s3;
    // The SDK fills LocationConstraint from its region; one naming another region is refused.
    await expect(
      eu.send(
        new CreateBucketCommand({
          Bucket: "wrong-constraint",
          CreateBucketConfiguration: { LocationConstraint: "us-west-2" },
        }),
      ),
    ).rejects.toMatchObject({
      name: "IllegalLocationConstraintException",
      $metadata: { httpStatusCode: 400 },
    });
    await eu.send(new CreateBucketCommand({ Bucket: "filled-constraint" }));
    await eu.send(
      new CreateBucketCommand({
        Bucket: "in-ireland",
        CreateBucketConfiguration: { LocationConstraint: "eu-west-1" },
      }),
    );
    await expect(
      eu.send(
        new CreateBucketCommand({
          Bucket: "in-ireland",
          CreateBucketConfiguration: { LocationConstraint: "eu-west-1" },
        }),
      ),
    ).rejects.toMatchObject({ name: "BucketAlreadyOwnedByYou", $metadata: { httpStatusCode: 409 } });
  });
});

describe("server integration", () => {
  it("[s3.slow-down] answers an injected throttle as S3 does (503 SlowDown), which the SDK retries", async () => {
    const b = bucket();
    s.server.faults.inject({ service: "s3", operation: "PutObject", kind: "throttle" });
    await expect(put({ Bucket: b, Key: "k", Body: "x" })).rejects.toMatchObject({
      name: "SlowDown",
      $metadata: { httpStatusCode: 503 },
    });
    s.server.faults.inject({ service: "s3", operation: "PutObject", kind: "throttle" });
    const out = await put({ Bucket: b, Key: "k", Body: "y" }, s.clients().s3);
    expect(out.$metadata.attempts).toBe(2);
    expect(s.server.calls.filter((c) => c.service === "s3").at(-1)).toMatchObject({
      operation: "PutObject",
      status: 200,
    });
  });
});
