/**
 * For tests that send AWS a request its model does not allow, on purpose: the model check (standins/model/)
 * must refuse it as AWS does and record it. These helpers declare the violation intended (so it does not
 * fail the test) and prove it happened (so the test fails when the check does not fire).
 */
import { expect } from "vitest";
import { expectModelViolations, type ModelViolation } from "../../standins/model/checks.ts";

/**
 * Runs `call`, which must be refused by the model check; answers the error the SDK raised and the recorded
 * violations. Use with `.rejects`-style assertions on the answer: `expect(error).toMatchObject({ name: ... })`.
 */
export async function refusedByModel(
  call: () => Promise<unknown>,
): Promise<{ error: Error & { $metadata?: { httpStatusCode?: number } }; violations: ModelViolation[] }> {
  const { result, violations } = await expectModelViolations(async () => {
    try {
      await call();
      return undefined;
    } catch (error) {
      return error as Error;
    }
  });
  expect(result, "the call should have been refused").toBeInstanceOf(Error);
  expect(
    violations.filter((v) => v.direction === "request"),
    "the model check should have refused the request",
  ).not.toHaveLength(0);
  return { error: result as Error, violations };
}

/**
 * Runs `fn`, during which a stand-in answers something AWS's model does not declare on purpose (e.g. its own
 * 501 NotImplemented for what it does not model); answers `fn`'s result and the violations, which must exist.
 */
export async function withIntendedViolations<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; violations: ModelViolation[] }> {
  const out = await expectModelViolations(fn);
  expect(out.violations, "a model violation was expected").not.toHaveLength(0);
  return out;
}
