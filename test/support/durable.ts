/**
 * The local durable runner with time skipping, made safe for TLS tests. Time skipping installs fake timers
 * for the whole process and leaves the fake clock where the last skipped wait ended (a grace period can put
 * it hours ahead), while TLS stacks check certificate validity against the real clock. So every test starts
 * with the fake clock set back to real time.
 */
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { afterAll, beforeAll, beforeEach } from "vitest";

// Captured at import, before the fake timers replace the global Date.
const RealDate = globalThis.Date;

interface FakeClock {
  setSystemTime(now: number): void;
}

/** Sets the runner's fake clock back to real time (call before building certificates for a new run). */
export function resetFakeClock(): void {
  // The runner keeps its clock in a private static field; there is no public way to reset it.
  const clock = (LocalDurableTestRunner as unknown as { fakeClock?: FakeClock }).fakeClock;
  if (!clock) throw new Error("time skipping is on but the runner has no fake clock");
  clock.setSystemTime(RealDate.now());
}

/** Registers the runner's environment for the calling test file. */
export function useDurableRunner(options: { skipTime: boolean }): void {
  beforeAll(() => LocalDurableTestRunner.setupTestEnvironment({ skipTime: options.skipTime }));
  afterAll(() => LocalDurableTestRunner.teardownTestEnvironment());
  if (options.skipTime) beforeEach(resetFakeClock);
}
