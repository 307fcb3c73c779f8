/**
 * AcmAdapter.deleteIfUnused, the one way the workflow deletes a certificate: only one mtls-rotator imported
 * (its tags carry the service's mark, which the workflow's role needs to delete it: infra/rotation.ts), and
 * never an error for a certificate it leaves in place, so a rotation past its promotion is never failed by a
 * deletion IAM refuses.
 */
import { describe, expect, it } from "vitest";
import { AcmAdapter, Pacer } from "../../functions/adapters/acm.ts";

const ARN = "arn:aws:acm:us-east-1:111122223333:certificate/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c";

function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name });
}

/** A client answering ListTagsForCertificate with `tags` (or throwing), and DeleteCertificate with `onDelete`. */
function acmWith(tags: Record<string, string> | Error, onDelete: () => void = () => undefined) {
  const sent: string[] = [];
  const client = {
    send: async (command: { constructor: { name: string } }) => {
      const name = command.constructor.name.replace(/Command$/, "");
      sent.push(name);
      if (name === "ListTagsForCertificate") {
        if (tags instanceof Error) throw tags;
        return { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
      }
      if (name === "DeleteCertificate") {
        onDelete();
        return {};
      }
      throw new Error(`unexpected ${name}`);
    },
  };
  return { acm: new AcmAdapter(client as never, new Pacer(0)), sent };
}

const MARKED = { "mtls-rotator:managed": "true", "mtls-rotator:rotation-id": "r1" };

describe("AcmAdapter.deleteIfUnused", () => {
  it("deletes a certificate carrying the service's mark", async () => {
    const { acm, sent } = acmWith(MARKED);
    expect(await acm.deleteIfUnused(ARN)).toEqual({ deleted: true, detail: "deleted" });
    expect(sent).toEqual(["ListTagsForCertificate", "DeleteCertificate"]);
  });

  it("leaves a certificate without the mark in place and does not ask ACM to delete it", async () => {
    const foreign: Record<string, string>[] = [
      {},
      { owner: "platform-team" },
      { "mtls-rotator:managed": "false" },
    ];
    for (const tags of foreign) {
      const { acm, sent } = acmWith(tags);
      const retired = await acm.deleteIfUnused(ARN);
      expect(retired).toEqual({
        deleted: false,
        detail: expect.stringMatching(
          /^left in place: not imported by mtls-rotator \(no mtls-rotator:managed=true tag\)/,
        ),
      });
      expect(sent).toEqual(["ListTagsForCertificate"]);
    }
  });

  it("reports a deletion ACM refuses (AccessDenied, in use) without throwing", async () => {
    const denied = acmWith(MARKED, () => {
      throw awsError("AccessDeniedException", "not authorized to perform: acm:DeleteCertificate");
    });
    expect(await denied.acm.deleteIfUnused(ARN)).toEqual({
      deleted: false,
      detail:
        "left in place: ACM refused the deletion (AccessDeniedException): not authorized to perform: acm:DeleteCertificate",
    });
    const inUse = acmWith(MARKED, () => {
      throw awsError("ResourceInUseException", "in use by a distribution");
    });
    expect(await inUse.acm.deleteIfUnused(ARN)).toEqual({
      deleted: false,
      detail: "still in use: in use by a distribution",
    });
  });

  it("counts a certificate already gone as deleted (a retried step), and throws anything else", async () => {
    const gone = acmWith(awsError("ResourceNotFoundException"));
    expect(await gone.acm.deleteIfUnused(ARN)).toEqual({ deleted: true, detail: "already deleted" });
    expect(gone.sent).toEqual(["ListTagsForCertificate"]);
    const throttled = acmWith(awsError("ThrottlingException"));
    await expect(throttled.acm.deleteIfUnused(ARN)).rejects.toMatchObject({ name: "ThrottlingException" });
  });
});
