/**
 * The local durable runner with time skipping, made safe for TLS tests. Time skipping installs fake timers
 * for the whole process and leaves the fake clock where the last skipped wait ended (a grace period can put
 * it hours ahead), while TLS stacks check certificate validity against the real clock. So every test starts
 * with the fake clock set back to real time.
 *
 * And made quick: the runner installs @sinonjs/fake-timers with its defaults, which (v15) fake
 * `process.nextTick`, `queueMicrotask` and `setImmediate` too, so each of them runs only on the clock's next
 * 20 ms tick of real time. Node's streams and sockets defer work with `process.nextTick`, so every HTTP call
 * of the process (the SDK's to the stand-ins and dynalite) took 3-5 ticks: 60-100 ms instead of 1-3 ms,
 * measured. None of them is a timer a skipped wait has to move, so `keepImmediateCallbacksReal` gives them
 * back their native functions; time skipping still fakes the clock (Date, performance, hrtime) and the timers
 * (setTimeout, setInterval) it moves.
 */

import timers from "node:timers";
import { DurablePromise, type Duration } from "@aws/durable-execution-sdk-js";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import type { workflow } from "sst/aws/workflow";
import { afterAll, beforeAll, beforeEach } from "vitest";

// Captured at import, before the fake timers replace the global Date.
const RealDate = globalThis.Date;
// Likewise the callbacks that run as soon as possible (not timers: nothing a skipped wait moves).
const native = {
  nextTick: process.nextTick,
  queueMicrotask: globalThis.queueMicrotask,
  setImmediate: globalThis.setImmediate,
  clearImmediate: globalThis.clearImmediate,
  timersSetImmediate: timers.setImmediate,
  timersClearImmediate: timers.clearImmediate,
};

/**
 * After the runner's fake timers are installed: `process.nextTick`, `queueMicrotask` and `setImmediate` (global
 * and `node:timers`) are native again (see above). Idempotent; the runner's teardown restores the same natives.
 */
export function keepImmediateCallbacksReal(): void {
  process.nextTick = native.nextTick;
  globalThis.queueMicrotask = native.queueMicrotask;
  globalThis.setImmediate = native.setImmediate;
  globalThis.clearImmediate = native.clearImmediate;
  timers.setImmediate = native.timersSetImmediate;
  timers.clearImmediate = native.timersClearImmediate;
}

/** The runner's environment with time skipping, its immediate callbacks kept real (for scripts; tests: useDurableRunner). */
export async function setupTimeSkipping(): Promise<void> {
  await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
  keepImmediateCallbacksReal();
}

interface FakeClock {
  setSystemTime(now: number): void;
}

function fakeClock(): FakeClock | undefined {
  // The runner keeps its clock in a private static field; there is no public way to reach it.
  return (LocalDurableTestRunner as unknown as { fakeClock?: FakeClock }).fakeClock;
}

/** Sets the runner's fake clock back to real time (call before building certificates for a new run). */
export function resetFakeClock(): void {
  const clock = fakeClock();
  if (!clock) throw new Error("time skipping is on but the runner has no fake clock");
  clock.setSystemTime(RealDate.now());
}

/** Moves the runner's fake clock forward (a call that takes `ms`, under time skipping). */
export function advanceFakeClock(ms: number): void {
  const clock = fakeClock();
  if (!clock) throw new Error("time skipping is on but the runner has no fake clock");
  clock.setSystemTime(Date.now() + ms);
}

function seconds(duration: Duration): number {
  const d = duration as { days?: number; hours?: number; minutes?: number; seconds?: number };
  return (d.days ?? 0) * 86_400 + (d.hours ?? 0) * 3600 + (d.minutes ?? 0) * 60 + (d.seconds ?? 0);
}

/**
 * The workflow SDK with waits that add up under time skipping. The runner skips a wait by moving its fake
 * clock to the wait's end as its checkpoint server computed it: on the REAL clock (a worker thread), real time
 * + the wait. Once the fake clock is ahead of real time (after the first skipped wait), a wait no longer than
 * that lead ends "in the past" and does not move the clock at all, so consecutive waits do not add up: ten
 * one-minute polls take a minute of fake time. Code that measures time across waits with its clock (the
 * gate's metrics deadline, counted from the deployment) needs them to add up, as they do in Lambda. This
 * wraps `ctx.wait` so that once a wait has completed the fake clock is at least where it was meant to end:
 * its start on the fake clock plus its duration. Without time skipping (no fake clock) it changes nothing.
 */
export function withWaitsThatAddUp(sdk: typeof workflow): typeof workflow {
  const ends = new Map<string, number>();
  type Handler = (event: unknown, ctx: workflow.Context) => Promise<unknown>;
  const handler = (fn: Handler, config?: Parameters<typeof workflow.handler>[1]) =>
    sdk.handler((event, ctx: workflow.Context) => {
      const wait = ctx.wait.bind(ctx) as (name: string, duration: Duration) => DurablePromise<void>;
      const patched = ((nameOrDuration: string | Duration, maybeDuration?: Duration) => {
        if (typeof nameOrDuration !== "string" || maybeDuration === undefined) {
          return (ctx.wait as (duration: Duration) => DurablePromise<void>)(nameOrDuration as Duration);
        }
        const name = nameOrDuration;
        // The first time the workflow reaches the wait (replays reach it again): where it is meant to end.
        if (!ends.has(name)) ends.set(name, Date.now() + seconds(maybeDuration) * 1000);
        return new DurablePromise(async () => {
          await wait(name, maybeDuration);
          const clock = fakeClock();
          const end = ends.get(name)!;
          if (clock && Date.now() < end) clock.setSystemTime(end);
        });
      }) as typeof ctx.wait;
      const wrapped = new Proxy(ctx, {
        get: (target, property) => {
          if (property === "wait") return patched;
          const value = Reflect.get(target, property, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      return fn(event, wrapped);
    }, config);
  return { ...sdk, handler } as typeof workflow;
}

/** Registers the runner's environment for the calling test file. */
export function useDurableRunner(options: { skipTime: boolean }): void {
  beforeAll(() =>
    options.skipTime ? setupTimeSkipping() : LocalDurableTestRunner.setupTestEnvironment({ skipTime: false }),
  );
  afterAll(() => LocalDurableTestRunner.teardownTestEnvironment());
  if (options.skipTime) beforeEach(resetFakeClock);
}
