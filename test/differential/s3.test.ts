/**
 * S3, moto against our stand-in: versioned trust-bundle objects as s3-bundle-version.ts (CloudFront trust
 * stores, API Gateway truststores), S3BundleTarget (publish-bundle.ts) and origin-sync's s3:// source
 * (origin-sync/source.ts) use them. Compared: version ids (as aliases of what each put answered), which
 * version is latest, bodies, ETags (the MD5 of the body: the same on both), user metadata, content types,
 * listing order, error codes and HTTP statuses.
 *
 * Not compared: conditional requests (If-Match and friends). No adapter sends them, and the stand-in answers
 * them 501 NotImplemented on purpose rather than ignoring them.
 */
import { createHash } from "node:crypto";
import {
  CreateBucketCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type PutObjectCommandOutput,
} from "@aws-sdk/client-s3";
import { describe } from "vitest";
import type { TrustBundle } from "../../functions/core/trust-bundle.ts";
import { fetchSource, parseSource } from "../../functions/origin-sync/source.ts";
import { S3BundleTarget } from "../../functions/trust/publish-bundle.ts";
import {
  ensureBundleVersion,
  headBundle,
  readBundle,
} from "../../functions/trust/targets/s3-bundle-version.ts";
import { type ScenarioContext, useDifferential } from "../support/differential.ts";

const { differential } = useDifferential();

const KEY = "trust/origin-client-ca.pem";
/** A version id no put made (S3 version ids are opaque; this one is well-formed for both). */
const MISSING_VERSION = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY";

function textBundle(pem: string): TrustBundle {
  return { pem, sha256: sha256(pem), entries: [], bytes: Buffer.byteLength(pem) };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

async function bucket(ctx: ScenarioContext, versioned: boolean): Promise<string> {
  const name = ctx.name("bundles");
  await ctx.observe(
    "CreateBucket",
    ctx.clients.s3.send(new CreateBucketCommand({ Bucket: name })),
    () => ({}),
  );
  if (versioned) {
    await ctx.observe(
      "PutBucketVersioning Enabled",
      ctx.clients.s3.send(
        new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: "Enabled" } }),
      ),
      () => ({}),
    );
  }
  return name;
}

const putAnswer = (out: PutObjectCommandOutput) => ({ ETag: out.ETag, VersionId: out.VersionId });
const headAnswer = (out: HeadObjectCommandOutput) => ({
  ETag: out.ETag,
  VersionId: out.VersionId,
  ContentType: out.ContentType,
  ContentLength: out.ContentLength,
  Metadata: out.Metadata,
});
const getAnswer = async (out: GetObjectCommandOutput) => ({
  ...headAnswer(out),
  Body: await out.Body?.transformToString("utf8"),
});
const listAnswer = (out: ListObjectVersionsCommandOutput) => ({
  IsTruncated: out.IsTruncated,
  NextKeyMarker: out.NextKeyMarker,
  NextVersionIdMarker: out.NextVersionIdMarker,
  Versions: (out.Versions ?? []).map((v) => ({
    Key: v.Key,
    VersionId: v.VersionId,
    IsLatest: v.IsLatest,
    ETag: v.ETag,
    Size: v.Size,
  })),
  DeleteMarkers: out.DeleteMarkers ?? [],
});

function s3(ctx: ScenarioContext, bucketName: string) {
  const client = ctx.clients.s3;
  return {
    put: (step: string, key: string, body: string, metadata?: Record<string, string>) =>
      ctx.observe(
        step,
        client.send(
          new PutObjectCommand({
            Bucket: bucketName,
            Key: key,
            Body: body,
            ContentType: "application/x-pem-file",
            ...(metadata ? { Metadata: metadata } : {}),
          }),
        ),
        putAnswer,
      ),
    head: (step: string, key: string, versionId?: string) =>
      ctx.observe(
        step,
        client.send(new HeadObjectCommand({ Bucket: bucketName, Key: key, VersionId: versionId })),
        headAnswer,
      ),
    get: (step: string, key: string, versionId?: string) =>
      ctx.observe(
        step,
        client.send(new GetObjectCommand({ Bucket: bucketName, Key: key, VersionId: versionId })),
        getAnswer,
      ),
    list: (
      step: string,
      input: { Prefix?: string; MaxKeys?: number; KeyMarker?: string; VersionIdMarker?: string } = {},
    ) =>
      ctx.observe(
        step,
        client.send(new ListObjectVersionsCommand({ Bucket: bucketName, ...input })),
        listAnswer,
      ),
  };
}

describe("raw calls: conditional writes", () => {
  differential(
    "If-None-Match: * creates once; If-Match replaces only over the current ETag; If-Match on a missing key",
    async (ctx) => {
      // Unversioned: the answers carry no version ids, so they compare as they are.
      const name = await bucket(ctx, false);
      const client = ctx.clients.s3;
      const conditionalPut = (step: string, key: string, body: string, condition: Record<string, string>) =>
        ctx.observe(
          step,
          client.send(new PutObjectCommand({ Bucket: name, Key: key, Body: body, ...condition })),
          (out) => ({ ETag: out.ETag }),
        );
      const api = s3(ctx, name);
      const first = await conditionalPut("create with If-None-Match", KEY, "one", { IfNoneMatch: "*" });
      await conditionalPut("create again with If-None-Match", KEY, "two", { IfNoneMatch: "*" });
      await conditionalPut("If-Match a stale ETag", KEY, "two", {
        IfMatch: '"0123456789abcdef0123456789abcdef"',
      });
      await api.get("still the first", KEY);
      await conditionalPut("If-Match the current ETag", KEY, "two", { IfMatch: first?.ETag ?? "" });
      await api.get("replaced", KEY);
      await conditionalPut("If-Match the first ETag again", KEY, "three", { IfMatch: first?.ETag ?? "" });
      await conditionalPut("If-Match on a missing key", "trust/absent.pem", "x", {
        IfMatch: first?.ETag ?? "",
      });
    },
  );
});

describe("raw calls: a versioned bundle object", () => {
  differential("two puts make two versions: the latest by default, either by VersionId", async (ctx) => {
    ctx.alias(MISSING_VERSION, "missing-version");
    const name = await bucket(ctx, true);
    const api = s3(ctx, name);
    const v1 = await api.put("put v1", KEY, "bundle one\n", {
      sha256: sha256("bundle one\n"),
      certificates: "1",
    });
    ctx.alias(v1?.VersionId, "v1");
    const v2 = await api.put("put v2", KEY, "bundle two\n", {
      sha256: sha256("bundle two\n"),
      certificates: "2",
    });
    ctx.alias(v2?.VersionId, "v2");
    await api.head("HeadObject latest", KEY);
    await api.get("GetObject latest", KEY);
    await api.head("HeadObject v1", KEY, v1?.VersionId);
    await api.get("GetObject v1", KEY, v1?.VersionId);
    await api.get("GetObject v2", KEY, v2?.VersionId);
  });

  differential(
    "ListObjectVersions: keys in order, each key's versions newest first, IsLatest on one",
    async (ctx) => {
      const name = await bucket(ctx, true);
      const api = s3(ctx, name);
      for (const [step, key, body, alias] of [
        ["put b v1", "trust/b.pem", "b1", "b-v1"],
        ["put a v1", "trust/a.pem", "a1", "a-v1"],
        ["put b v2", "trust/b.pem", "b2", "b-v2"],
        ["put a v2", "trust/a.pem", "a2", "a-v2"],
        ["put other", "other/c.pem", "c1", "c-v1"],
      ] as const) {
        ctx.alias((await api.put(step, key, body))?.VersionId, alias);
      }
      await api.list("list all");
      await api.list("list prefix trust/", { Prefix: "trust/" });
    },
  );

  differential("ListObjectVersions pages with MaxKeys and the Next*Marker pair", async (ctx) => {
    const name = await bucket(ctx, true);
    const api = s3(ctx, name);
    ctx.alias((await api.put("put a v1", "a.pem", "a1"))?.VersionId, "a-v1");
    ctx.alias((await api.put("put a v2", "a.pem", "a2"))?.VersionId, "a-v2");
    ctx.alias((await api.put("put b v1", "b.pem", "b1"))?.VersionId, "b-v1");
    let page = await api.list("page 1", { MaxKeys: 2 });
    let n = 2;
    while (page?.IsTruncated && n < 6) {
      page = await api.list(`page ${n}`, {
        MaxKeys: 2,
        KeyMarker: page.NextKeyMarker,
        VersionIdMarker: page.NextVersionIdMarker,
      });
      n += 1;
    }
  });

  differential(
    "missing things: NoSuchKey, NoSuchVersion, NoSuchBucket (404); HEAD answers a bare 404 (NotFound)",
    async (ctx) => {
      ctx.alias(MISSING_VERSION, "missing-version");
      const name = await bucket(ctx, true);
      const api = s3(ctx, name);
      await api.get("GetObject of a missing key", "no/such.pem");
      await api.head("HeadObject of a missing key", "no/such.pem");
      ctx.alias((await api.put("put v1", KEY, "bundle"))?.VersionId, "v1");
      await api.get("GetObject of a missing version", KEY, MISSING_VERSION);
      await api.head("HeadObject of a missing version", KEY, MISSING_VERSION);
      await s3(ctx, ctx.name("no-such-bucket")).get("GetObject in a missing bucket", KEY);
      await s3(ctx, ctx.name("no-such-bucket")).put("PutObject in a missing bucket", KEY, "x");
    },
  );

  differential("an unversioned bucket: puts answer no version id, the object is replaced", async (ctx) => {
    const name = await bucket(ctx, false);
    const api = s3(ctx, name);
    await api.put("put 1", KEY, "one");
    await api.put("put 2", KEY, "two");
    await api.get("GetObject", KEY);
    await api.list("ListObjectVersions");
  });

  differential("user metadata comes back with lower-case keys, as sent values", async (ctx) => {
    const name = await bucket(ctx, true);
    const api = s3(ctx, name);
    ctx.alias(
      (
        await api.put("put with metadata", KEY, "x", {
          sha256: "AbC123",
          Certificates: "3",
          "x-custom": "a b",
        })
      )?.VersionId,
      "v1",
    );
    await api.head("HeadObject", KEY);
  });

  differential(
    "keys with spaces, plus signs, non-ASCII, percent signs, double slashes and punctuation",
    async (ctx) => {
      const name = await bucket(ctx, true);
      const api = s3(ctx, name);
      for (const key of ["trust/origin client+ca é.pem", "a/b//c.pem", "trust/%41.pem", "trust/~!*'().pem"]) {
        ctx.alias((await api.put(`put ${key}`, key, key))?.VersionId, `version of ${key}`);
        await api.get(`get ${key}`, key);
      }
      await api.list("list");
    },
  );

  differential(
    "ListObjectVersions with a Delimiter rolls keys up into CommonPrefixes",
    async (ctx) => {
      const name = await bucket(ctx, true);
      const api = s3(ctx, name);
      for (const key of ["trust/a.pem", "trust/old/b.pem", "top.pem"]) {
        ctx.alias((await api.put(`put ${key}`, key, key))?.VersionId, `version of ${key}`);
      }
      await ctx.observe(
        "list with Delimiter /",
        ctx.clients.s3.send(new ListObjectVersionsCommand({ Bucket: name, Delimiter: "/" })),
        (out) => ({ Keys: (out.Versions ?? []).map((v) => v.Key), CommonPrefixes: out.CommonPrefixes }),
      );
    },
    { standinGap: "s3.list-versions-delimiter" },
  );

  differential(
    "user metadata over 2 KB is refused (MetadataTooLarge)",
    async (ctx) => {
      const name = await bucket(ctx, true);
      await s3(ctx, name).put("put with 2,100 bytes of metadata", KEY, "x", { big: "x".repeat(2_100) });
    },
    { deviation: "s3.user-metadata-size-unchecked" },
  );
});

describe("through the adapters", () => {
  differential(
    "ensureBundleVersion: a new bundle makes a version, the same bundle again does not",
    async (ctx) => {
      const name = await bucket(ctx, true);
      const ref = { bucket: name, key: KEY };
      const one = await ensureBundleVersion(ctx.clients.s3, ref, textBundle("bundle one\n"));
      ctx.alias(one.versionId, "v1");
      ctx.record("ensure bundle one", one);
      ctx.record(
        "ensure bundle one again",
        await ensureBundleVersion(ctx.clients.s3, ref, textBundle("bundle one\n")),
      );
      const two = await ensureBundleVersion(ctx.clients.s3, ref, textBundle("bundle two\n"));
      ctx.alias(two.versionId, "v2");
      ctx.record("ensure bundle two", two);
      ctx.record("headBundle latest", await headBundle(ctx.clients.s3, ref));
      ctx.record("headBundle v1", await headBundle(ctx.clients.s3, ref, one.versionId));
      ctx.record("readBundle latest", await readBundle(ctx.clients.s3, ref));
      ctx.record("readBundle v1", await readBundle(ctx.clients.s3, ref, one.versionId));
      ctx.alias(MISSING_VERSION, "missing-version");
      ctx.record(
        "readBundle of a missing version",
        (await readBundle(ctx.clients.s3, ref, MISSING_VERSION)) ?? "undefined",
      );
      ctx.record(
        "headBundle of a missing key",
        (await headBundle(ctx.clients.s3, { bucket: name, key: "no/such.pem" })) ?? "undefined",
      );
    },
  );

  differential("ensureBundleVersion refuses a bucket without versioning", async (ctx) => {
    const name = await bucket(ctx, false);
    try {
      await ensureBundleVersion(ctx.clients.s3, { bucket: name, key: KEY }, textBundle("bundle one\n"));
      ctx.record("ensureBundleVersion", "accepted");
    } catch (error) {
      ctx.record("ensureBundleVersion", { threw: (error as Error).name, message: (error as Error).message });
    }
  });

  differential("S3BundleTarget: read before any write, write, unchanged write, new write", async (ctx) => {
    const name = await bucket(ctx, true);
    const target = new S3BundleTarget(ctx.clients.s3, name, KEY);
    ctx.record("read before any write", (await target.read()) ?? "undefined");
    const first = await target.write(textBundle("bundle one\n"));
    ctx.alias(first.version, "v1");
    ctx.record("write one", first);
    ctx.record("write one again", await target.write(textBundle("bundle one\n")));
    const second = await target.write(textBundle("bundle two\n"));
    ctx.alias(second.version, "v2");
    ctx.record("write two", second);
    ctx.record("read", await target.read());
  });

  differential(
    "origin-sync s3:// source: the latest version, checked against its sha256 metadata",
    async (ctx) => {
      const name = await bucket(ctx, true);
      const clients = { s3: () => ctx.clients.s3, secrets: () => ctx.clients.secrets };
      const settings = { timeoutMs: 10_000, maxBytes: 64 * 1024 };
      const spec = parseSource(`s3://${name}/${KEY}`, () => false);
      const fetchOutcome = async () => {
        try {
          const fetched = await fetchSource(spec, settings, clients);
          return { body: fetched.body.toString("utf8"), details: fetched.details };
        } catch (error) {
          return { threw: (error as Error).name, kind: (error as { kind?: string }).kind };
        }
      };
      ctx.record("fetch before any put", await fetchOutcome());
      const written = await ensureBundleVersion(
        ctx.clients.s3,
        { bucket: name, key: KEY },
        textBundle("bundle one\n"),
      );
      ctx.alias(written.versionId, "v1");
      ctx.record("fetch", await fetchOutcome());
      // A body that does not match its sha256 metadata (corrupt or tampered with) is refused.
      const tampered = await ctx.clients.s3.send(
        new PutObjectCommand({
          Bucket: name,
          Key: KEY,
          Body: "tampered\n",
          Metadata: { sha256: sha256("bundle one\n") },
        }),
      );
      ctx.alias(tampered.VersionId, "v2");
      ctx.record("fetch a tampered version", await fetchOutcome());
    },
  );
});
