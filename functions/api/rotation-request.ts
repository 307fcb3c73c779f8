/**
 * The dispatcher's request (functions/dispatch/start-rotation.ts) in the contract's terms: its fields are
 * the API's (schemas.ts) plus the serial in service and the actor. Its own module, so the API's routes do
 * not build it at cold start.
 */
import * as z from "zod/mini";
import { LIMITS } from "../core/requests.ts";
import {
  ApprovalMode,
  BakeSeconds,
  CertificateArn,
  DryRun,
  freeText,
  Reason,
  WaveOverrides,
} from "./schemas.ts";

/** Who asked for a rotation: an IAM principal ARN, or the service's own trigger (scan, ACM expiry event). */
export const Actor = freeText(LIMITS.actor);

/** Serial of the certificate in service: hex, colons and either case accepted ("0A:1B" = "0a1b"). */
export const Serial = z.pipe(
  z.pipe(
    z.string({ error: "is required" }).check(z.trim(), z.minLength(1, "is required")),
    z.transform((serial) => serial.replaceAll(":", "").toLowerCase()),
  ),
  z.string().check(
    z.regex(/^[0-9a-f]+$/, "must be hexadecimal (colons between bytes are allowed)"),
    z.maxLength(LIMITS.serialHexDigits, {
      error: (issue) =>
        `must be at most ${LIMITS.serialHexDigits} hex digits, got ${(issue.input as string).length}`,
    }),
    z.refine((serial) => !/^0+$/.test(serial), "must not be zero"),
  ),
);

/**
 * A rotation request as the dispatcher takes it (functions/dispatch/start-rotation.ts), from the API, the
 * scan and the ACM expiry event alike: the same field rules as POST /rotations, plus the serial in service
 * and the actor, and the overrides grouped.
 */
export const RotationRequest = z.strictObject(
  {
    certificateArn: CertificateArn,
    serial: Serial,
    reason: Reason,
    actor: Actor,
    dryRun: z.optional(DryRun),
    overrides: z.optional(
      z.strictObject(
        {
          waves: z.optional(WaveOverrides),
          bakeSeconds: z.optional(BakeSeconds),
          approval: z.optional(ApprovalMode),
        },
        { error: "must be an object" },
      ),
    ),
    // (RotationRequest's overrides: the same wave sizes, bake window and approval mode as POST /rotations.)
  },
  { error: "the request must be a JSON object" },
);
