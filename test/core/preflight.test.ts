/**
 * The preflight's verdict on one origin (functions/core/preflight.ts): the new certificate's answer against
 * the current one's, as a table of named cases; and the abort's wording of a refused origin.
 */
import { describe, expect, it } from "vitest";
import {
  describeRefusal,
  judgePreflightProbe,
  type PreflightProbeReason,
  type ProbeAnswer,
  statusClass,
} from "../../functions/core/preflight.ts";

const answer = (status: number | null, error?: string): ProbeAnswer => ({
  status,
  ...(error ? { error } : {}),
});
const handshake = answer(null, "socket hang up");

const cases: Array<{
  name: string;
  fresh: ProbeAnswer;
  current?: ProbeAnswer;
  accepted: boolean;
  reason: PreflightProbeReason;
}> = [
  // Today's rule, always applied: no HTTP answer, or nginx's refusals after the handshake.
  {
    name: "new refused at the handshake",
    fresh: handshake,
    current: answer(200),
    accepted: false,
    reason: "Refused",
  },
  { name: "new answered 400", fresh: answer(400), current: answer(200), accepted: false, reason: "Refused" },
  { name: "new answered 495", fresh: answer(495), current: answer(200), accepted: false, reason: "Refused" },
  { name: "new answered 496", fresh: answer(496), accepted: false, reason: "Refused" },
  {
    name: "both refused at the TLS layer",
    fresh: answer(400),
    current: answer(400),
    accepted: false,
    reason: "Refused",
  },
  // Nothing to compare with: today's rule alone (an application-level 403 passes, as it always did).
  { name: "no current: 200", fresh: answer(200), accepted: true, reason: "NotCompared" },
  { name: "no current: 403", fresh: answer(403), accepted: true, reason: "NotCompared" },
  // Same status class as the current certificate's answer.
  {
    name: "200 and 200",
    fresh: answer(200),
    current: answer(200),
    accepted: true,
    reason: "SameStatusClass",
  },
  {
    name: "204 and 200",
    fresh: answer(204),
    current: answer(200),
    accepted: true,
    reason: "SameStatusClass",
  },
  {
    name: "302 and 301",
    fresh: answer(302),
    current: answer(301),
    accepted: true,
    reason: "SameStatusClass",
  },
  {
    name: "401 and 401 (wants a header)",
    fresh: answer(401),
    current: answer(401),
    accepted: true,
    reason: "SameStatusClass",
  },
  {
    name: "404 and 403",
    fresh: answer(404),
    current: answer(403),
    accepted: true,
    reason: "SameStatusClass",
  },
  {
    name: "503 and 500",
    fresh: answer(503),
    current: answer(500),
    accepted: true,
    reason: "SameStatusClass",
  },
  // An application-level refusal: the new certificate gets another class than the current one.
  {
    name: "403 and 200",
    fresh: answer(403),
    current: answer(200),
    accepted: false,
    reason: "StatusClassDiffers",
  },
  {
    name: "401 and 200",
    fresh: answer(401),
    current: answer(200),
    accepted: false,
    reason: "StatusClassDiffers",
  },
  {
    name: "500 and 200",
    fresh: answer(500),
    current: answer(200),
    accepted: false,
    reason: "StatusClassDiffers",
  },
  {
    name: "302 and 200 (a redirect to a login)",
    fresh: answer(302),
    current: answer(200),
    accepted: false,
    reason: "StatusClassDiffers",
  },
  {
    name: "403 and 500",
    fresh: answer(403),
    current: answer(500),
    accepted: false,
    reason: "StatusClassDiffers",
  },
  // A 2xx to the new certificate is the origin serving it, whatever the current one got.
  {
    name: "current refused (400), new 200",
    fresh: answer(200),
    current: answer(400),
    accepted: true,
    reason: "Served",
  },
  {
    name: "current no answer, new 204",
    fresh: answer(204),
    current: handshake,
    accepted: true,
    reason: "Served",
  },
  {
    name: "current 403, new 200",
    fresh: answer(200),
    current: answer(403),
    accepted: true,
    reason: "Served",
  },
  // The current certificate refused at the TLS layer and no 2xx to the new one: the origin proves nothing.
  {
    name: "current refused (400), new 403",
    fresh: answer(403),
    current: answer(400),
    accepted: false,
    reason: "CurrentRefused",
  },
  {
    name: "current refused (496), new 401",
    fresh: answer(401),
    current: answer(496),
    accepted: false,
    reason: "CurrentRefused",
  },
  {
    name: "current no answer, new 301",
    fresh: answer(301),
    current: handshake,
    accepted: false,
    reason: "CurrentRefused",
  },
  {
    name: "current no answer, new 500",
    fresh: answer(500),
    current: handshake,
    accepted: false,
    reason: "CurrentRefused",
  },
];

describe("judgePreflightProbe", () => {
  it.each(cases)("$name -> $reason", ({ fresh, current, accepted, reason }) => {
    const judged = judgePreflightProbe("E1/o", fresh, current);
    expect(judged).toMatchObject({ target: "E1/o", status: fresh.status, accepted, reason });
    expect(judged.current).toEqual(current);
    expect(judged.error).toBe(fresh.error);
  });

  it("status classes", () => {
    expect([200, 299, 301, 403, 499, 503].map(statusClass)).toEqual([2, 2, 3, 4, 4, 5]);
  });
});

describe("describeRefusal", () => {
  it("names what each certificate got and why that is a refusal", () => {
    const say = (fresh: ProbeAnswer, current?: ProbeAnswer) =>
      describeRefusal(judgePreflightProbe("E1/o", fresh, current));
    expect(say(answer(400))).toBe("E1/o (400)");
    expect(say(handshake)).toBe("E1/o (socket hang up)");
    expect(say(answer(400), answer(200))).toBe("E1/o (400 to the new certificate, 200 to the current one)");
    expect(say(answer(403), answer(200))).toBe(
      "E1/o (403 to the new certificate, 200 to the current one: a different answer)",
    );
    expect(say(answer(403), answer(400))).toBe(
      "E1/o (403 to the new certificate, 400 to the current one: the current certificate is refused too, the origin proves nothing)",
    );
  });
});
