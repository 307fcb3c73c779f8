import { describe, expect, it } from "vitest";
import {
  nextSlot,
  PACED_OPERATIONS,
  reservationBackoffMs,
  sleepBeforeCall,
  waitForSlot,
} from "../../functions/core/pacing.ts";

const T = Date.UTC(2026, 11, 1, 9, 0, 0);

describe("nextSlot", () => {
  it.each([
    { name: "a schedule never used starts now", nextFree: undefined, now: T, slot: T },
    {
      name: "an idle schedule (in the past) starts now, banking nothing",
      nextFree: T - 60_000,
      now: T,
      slot: T,
    },
    { name: "a schedule free exactly now gives now", nextFree: T, now: T, slot: T },
    { name: "a busy schedule gives its next free moment", nextFree: T + 5_250, now: T, slot: T + 5_250 },
  ])("$name", ({ nextFree, now, slot }) => {
    expect(nextSlot(nextFree, now, 1_050)).toEqual({ slotMs: slot, nextFreeMs: slot + 1_050 });
  });

  it("hands out strictly increasing slots one interval apart to reservers arriving together", () => {
    let nextFree: number | undefined;
    const slots: number[] = [];
    for (let i = 0; i < 1_000; i += 1) {
      const s = nextSlot(nextFree, T + i, PACED_OPERATIONS["acm-import"].intervalMs);
      slots.push(s.slotMs);
      nextFree = s.nextFreeMs;
    }
    for (let i = 1; i < slots.length; i += 1) expect(slots[i]! - slots[i - 1]!).toBe(1_050);
    // 1,000 imports in 999 intervals: 1,048.95 s from the first to the last, under 1.2 x 1,000 s.
    expect(slots.at(-1)! - slots[0]!).toBe(999 * 1_050);
  });

  it.each([
    { name: "an unused schedule: now + lead", nextFree: undefined, slot: T + 1_000 },
    { name: "free before now + lead: now + lead", nextFree: T + 400, slot: T + 1_000 },
    { name: "free after now + lead: its next free moment", nextFree: T + 7_000, slot: T + 7_000 },
  ])("with a lead: $name", ({ nextFree, slot }) => {
    expect(nextSlot(nextFree, T, 1_050, 1_000)).toEqual({ slotMs: slot, nextFreeMs: slot + 1_050 });
  });

  it("refuses an interval that is not a positive number", () => {
    for (const interval of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => nextSlot(undefined, T, interval)).toThrow(RangeError);
    }
  });
});

describe("the quotas the intervals keep", () => {
  it("ACM ImportCertificate (1/s) and Private CA IssueCertificate (25/s), each with a 5% margin", () => {
    expect(1_000 / PACED_OPERATIONS["acm-import"].intervalMs).toBeLessThan(1);
    expect(1_000 / PACED_OPERATIONS["acm-import"].intervalMs).toBeGreaterThanOrEqual(0.95);
    expect(1_000 / PACED_OPERATIONS["pca-issue"].intervalMs).toBeLessThan(25);
    expect(1_000 / PACED_OPERATIONS["pca-issue"].intervalMs).toBeGreaterThan(23.5);
  });
});

describe("waitForSlot: a durable wait of whole seconds ending about a second before the slot", () => {
  it.each([
    { name: "slot passed", ahead: -5_000, seconds: 0 },
    { name: "slot now", ahead: 0, seconds: 0 },
    { name: "slot within the lead and a second", ahead: 1_999, seconds: 0 },
    { name: "slot two seconds away", ahead: 2_000, seconds: 1 },
    { name: "slot 2.9 s away: one second, then a sleep of 1.9 s", ahead: 2_900, seconds: 1 },
    { name: "slot 17 minutes away", ahead: 1_020_000, seconds: 1_019 },
  ])("$name", ({ ahead, seconds }) => {
    expect(waitForSlot(T + ahead, T)).toEqual({ durableSeconds: seconds });
  });

  it("never ends after the slot, and leaves at most lead + 1 s to sleep", () => {
    for (let ahead = 0; ahead < 10_000; ahead += 37) {
      const { durableSeconds } = waitForSlot(T + ahead, T);
      expect(durableSeconds * 1000).toBeLessThanOrEqual(Math.max(0, ahead - 1_000));
      expect(ahead - durableSeconds * 1000).toBeLessThan(2_000);
    }
  });
});

describe("sleepBeforeCall", () => {
  it.each([
    { name: "slot passed: no sleep", slot: T - 1, now: T, ms: 0 },
    { name: "slot ahead: the rest of the way", slot: T + 800, now: T, ms: 800 },
    { name: "bounded: a step never sleeps long", slot: T + 60_000, now: T, ms: 2_000 },
  ])("$name", ({ slot, now, ms }) => {
    expect(sleepBeforeCall(slot, now)).toBe(ms);
  });
});

describe("reservationBackoffMs: full jitter under an exponential cap", () => {
  it.each([
    { attempt: 0, random: 0.999, max: 5 },
    { attempt: 1, random: 0.999, max: 10 },
    { attempt: 3, random: 0.999, max: 40 },
    { attempt: 10, random: 0.999, max: 200 },
  ])("attempt $attempt stays under $max ms", ({ attempt, random, max }) => {
    expect(reservationBackoffMs(attempt, random)).toBeLessThan(max);
    expect(reservationBackoffMs(attempt, 0)).toBe(0);
  });
});
