/**
 * Every test file: a call a stand-in refused because AWS's model does not allow it, or a stand-in answer the
 * model does not allow, fails the test that caused it (unless the test declared it expected with
 * expectModelViolations). Each file's counts go to the run's tally (./model-checks-global.ts).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach } from "vitest";
import { describeModelViolation, type ModelViolation, modelChecks } from "../../standins/model/checks.ts";

function failOn(unexpected: ModelViolation[], where: string): void {
  if (unexpected.length === 0) return;
  throw new Error(
    `${unexpected.length} AWS model violation(s) ${where} — a call AWS would refuse, or a stand-in answer ` +
      `AWS's published model does not allow:\n${unexpected.map((v) => `  - ${describeModelViolation(v)}`).join("\n")}`,
  );
}

afterEach(() => {
  failOn(modelChecks.takeUnexpected(), "in this test");
});

afterAll(() => {
  const unexpected = modelChecks.takeUnexpected();
  const dir = process.env.MTLS_ROTATOR_MODEL_CHECK_DIR;
  if (dir) {
    const counts = modelChecks.takeCounts();
    const file = join(dir, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ ...counts, unexpected: unexpected.map(describeModelViolation) }));
  }
  failOn(unexpected, "in this file's hooks (beforeAll/afterAll)");
});
