/**
 * The probe certificates object (functions/trust/acknowledgements.ts) is read, merged and written as one
 * conditional update (S3 If-Match / If-None-Match, standins/s3.ts [s3.conditional-put]): two writers at once
 * (two rotations' trust phases, or one and the reconciliation) both end up in it; neither overwrites the
 * other's certificates.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROBE_CERTIFICATES_KEY, PROBES_BUNDLE_METADATA } from "../../functions/core/acknowledgement.ts";
import { AcknowledgementStore, PROBE_UPDATE_ATTEMPTS } from "../../functions/trust/acknowledgements.ts";
import { type Standins, startStandins } from "../../standins/index.ts";

let standins: Standins;
let s3: S3Client;
let counter = 0;
const newBucket = () => {
  counter += 1;
  const name = `probe-objects-${counter}`;
  standins.s3.createBucket(name, { versioned: true });
  return name;
};

beforeAll(async () => {
  standins = await startStandins();
  s3 = standins.clients({ maxAttempts: 1 }).s3;
});

afterAll(async () => {
  await standins?.close();
});

/** A "certificate" per line; merging keeps the previous lines and adds `mine` (the store never parses PEM). */
const merge = (mine: string) => (previous: string | undefined) => {
  const lines = new Set((previous ?? "").split("\n").filter(Boolean));
  lines.add(mine);
  return { pem: `${[...lines].sort().join("\n")}\n` };
};

/** An S3 client that runs `interleave` once, just before the first PutObject it sends (after its read). */
function racingClient(interleave: () => Promise<unknown>): { client: S3Client; reads: () => number } {
  let raced = false;
  let reads = 0;
  const client = {
    send: async (command: unknown) => {
      if (command instanceof PutObjectCommand && !raced) {
        raced = true;
        await interleave();
      }
      if (!(command instanceof PutObjectCommand)) reads += 1;
      return s3.send(command as PutObjectCommand);
    },
  } as unknown as S3Client;
  return { client, reads: () => reads };
}

const published = (bucket: string) => standins.s3.object(bucket, PROBE_CERTIFICATES_KEY);

describe("publishProbeCertificates", () => {
  it("keeps both writers' certificates when another writer publishes between its read and its write", async () => {
    const bucket = newBucket();
    await new AcknowledgementStore(s3, bucket).publishProbeCertificates("b0", merge("cert-earlier"));

    const other = new AcknowledgementStore(s3, bucket);
    const racing = racingClient(() => other.publishProbeCertificates("b1", merge("cert-of-rotation-b")));
    const result = await new AcknowledgementStore(racing.client, bucket).publishProbeCertificates(
      "b1",
      merge("cert-of-rotation-a"),
    );

    expect(result.changed).toBe(true);
    expect(published(bucket)?.body.toString("utf8")).toBe(
      "cert-earlier\ncert-of-rotation-a\ncert-of-rotation-b\n",
    );
    expect(published(bucket)?.metadata[PROBES_BUNDLE_METADATA]).toBe("b1");
    // It read twice: its first write was refused (412) because b's write changed the ETag it had read.
    expect(racing.reads()).toBe(2);
    expect(
      standins.server.calls.filter((c) => c.operation === "PutObject" && c.status === 412),
    ).not.toHaveLength(0);
  });

  it("creates the object only if nobody else did meanwhile (If-None-Match), then merges with theirs", async () => {
    const bucket = newBucket();
    const other = new AcknowledgementStore(s3, bucket);
    const racing = racingClient(() => other.publishProbeCertificates("b1", merge("cert-b")));
    await new AcknowledgementStore(racing.client, bucket).publishProbeCertificates("b1", merge("cert-a"));
    expect(published(bucket)?.body.toString("utf8")).toBe("cert-a\ncert-b\n");
  });

  it("writes nothing when the same certificates are published for the same bundle, and rewrites for another bundle", async () => {
    const bucket = newBucket();
    const store = new AcknowledgementStore(s3, bucket);
    expect((await store.publishProbeCertificates("b1", merge("cert-a"))).changed).toBe(true);
    expect((await store.publishProbeCertificates("b1", merge("cert-a"))).changed).toBe(false);
    expect(standins.s3.versions(bucket, PROBE_CERTIFICATES_KEY)).toHaveLength(1);
    expect((await store.publishProbeCertificates("b2", merge("cert-a"))).changed).toBe(true);
    expect(standins.s3.versions(bucket, PROBE_CERTIFICATES_KEY)).toHaveLength(2);
  });

  it(`gives up after ${PROBE_UPDATE_ATTEMPTS} lost races with the S3 error, writing nothing of its own`, async () => {
    const bucket = newBucket();
    let n = 0;
    const alwaysRacing = {
      send: async (command: unknown) => {
        if (command instanceof PutObjectCommand) {
          n += 1;
          await s3.send(
            new PutObjectCommand({ Bucket: bucket, Key: PROBE_CERTIFICATES_KEY, Body: `other-${n}\n` }),
          );
        }
        return s3.send(command as PutObjectCommand);
      },
    } as unknown as S3Client;
    await expect(
      new AcknowledgementStore(alwaysRacing, bucket).publishProbeCertificates("b1", merge("cert-a")),
    ).rejects.toMatchObject({ name: expect.stringMatching(/PreconditionFailed|NoSuchKey/) });
    expect(n).toBe(PROBE_UPDATE_ATTEMPTS);
    expect(published(bucket)?.body.toString("utf8")).toBe(`other-${PROBE_UPDATE_ATTEMPTS}\n`);
  });
});
