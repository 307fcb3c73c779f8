import { describe, expect, it } from "vitest";
import {
  alertedAfter,
  DEFAULT_ALERT_THRESHOLDS_DAYS,
  type ExpiryAlert,
  pendingExpiryAlert,
  validateThresholds,
} from "../../functions/core/alerts.ts";
import { DAY, daysFromNow, HOUR, msFromNow, NOW } from "../support/pki-fixtures.ts";

describe("pendingExpiryAlert", () => {
  const cases: Array<{
    name: string;
    /** Time left until notAfter, from NOW. */
    leftMs: number;
    thresholdsDays?: number[];
    alreadyAlerted?: number[];
    expected: ExpiryAlert | undefined;
  }> = [
    { name: "31 days left: nothing yet", leftMs: 31 * DAY, expected: undefined },
    {
      name: "one millisecond more than 30 days: nothing yet",
      leftMs: 30 * DAY + 1,
      expected: undefined,
    },
    {
      name: "exactly 30 days left crosses 30",
      leftMs: 30 * DAY,
      expected: { thresholdDays: 30, daysLeft: 30, covers: [30] },
    },
    {
      name: "29.5 days left: 30, 29 whole days",
      leftMs: 29.5 * DAY,
      expected: { thresholdDays: 30, daysLeft: 29, covers: [30] },
    },
    {
      name: "30 already alerted: nothing until 14",
      leftMs: 20 * DAY,
      alreadyAlerted: [30],
      expected: undefined,
    },
    {
      name: "14 days left after 30 was alerted",
      leftMs: 14 * DAY,
      alreadyAlerted: [30],
      expected: { thresholdDays: 14, daysLeft: 14, covers: [14, 30] },
    },
    {
      name: "scan missed a week: only the most urgent (7), covering 14 and 30",
      leftMs: 6 * DAY,
      alreadyAlerted: [30],
      expected: { thresholdDays: 7, daysLeft: 6, covers: [7, 14, 30] },
    },
    {
      name: "first scan ever with 5 days left: 7 covers 14 and 30",
      leftMs: 5 * DAY,
      expected: { thresholdDays: 7, daysLeft: 5, covers: [7, 14, 30] },
    },
    {
      name: "12 hours left: 1, daysLeft 0 on the last day",
      leftMs: 12 * HOUR,
      alreadyAlerted: [30, 14, 7],
      expected: { thresholdDays: 1, daysLeft: 0, covers: [1, 7, 14, 30] },
    },
    {
      name: "every threshold already alerted",
      leftMs: 12 * HOUR,
      alreadyAlerted: [30, 14, 7, 1],
      expected: undefined,
    },
    {
      name: "expired with default thresholds, never alerted: 1 is the most urgent",
      leftMs: -2 * HOUR,
      expected: { thresholdDays: 1, daysLeft: -1, covers: [1, 7, 14, 30] },
    },
    {
      name: "expired with default thresholds, all alerted: nothing (there is no threshold 0)",
      leftMs: -3 * DAY,
      alreadyAlerted: [30, 14, 7, 1],
      expected: undefined,
    },
    {
      name: "expired with threshold 0 configured",
      leftMs: -2 * HOUR,
      thresholdsDays: [30, 14, 7, 1, 0],
      alreadyAlerted: [30, 14, 7, 1],
      expected: { thresholdDays: 0, daysLeft: -1, covers: [0, 1, 7, 14, 30] },
    },
    {
      name: "threshold 0 is crossed exactly at notAfter",
      leftMs: 0,
      thresholdsDays: [30, 14, 7, 1, 0],
      alreadyAlerted: [30, 14, 7, 1],
      expected: { thresholdDays: 0, daysLeft: 0, covers: [0, 1, 7, 14, 30] },
    },
    {
      name: "threshold 0 is not crossed one millisecond before notAfter",
      leftMs: 1,
      thresholdsDays: [30, 14, 7, 1, 0],
      alreadyAlerted: [30, 14, 7, 1],
      expected: undefined,
    },
    {
      name: "expired, threshold 0 already alerted",
      leftMs: -5 * DAY,
      thresholdsDays: [30, 14, 7, 1, 0],
      alreadyAlerted: [0, 1, 7, 14, 30],
      expected: undefined,
    },
    {
      name: "custom unsorted thresholds",
      leftMs: 45 * DAY,
      thresholdsDays: [10, 60],
      expected: { thresholdDays: 60, daysLeft: 45, covers: [60] },
    },
    {
      name: "no thresholds: never alerts",
      leftMs: -DAY,
      thresholdsDays: [],
      expected: undefined,
    },
  ];

  it.each(cases)("$name", ({ leftMs, thresholdsDays, alreadyAlerted, expected }) => {
    expect(
      pendingExpiryAlert({ notAfter: msFromNow(leftMs), now: NOW, thresholdsDays, alreadyAlerted }),
    ).toEqual(expected);
  });

  it("defaults to 30/14/7/1 days", () => {
    expect([...DEFAULT_ALERT_THRESHOLDS_DAYS]).toEqual([30, 14, 7, 1]);
  });

  it("a daily scan that records `covers` alerts each threshold exactly once", () => {
    const notAfter = daysFromNow(40);
    const alerted: number[] = [];
    const sent: Array<{ day: number; thresholdDays: number; daysLeft: number }> = [];
    for (let day = 0; day <= 45; day += 1) {
      const alert = pendingExpiryAlert({ notAfter, now: daysFromNow(day), alreadyAlerted: alerted });
      if (!alert) continue;
      sent.push({ day, thresholdDays: alert.thresholdDays, daysLeft: alert.daysLeft });
      alerted.push(...alert.covers.filter((t) => !alerted.includes(t)));
    }
    expect(sent).toEqual([
      { day: 10, thresholdDays: 30, daysLeft: 30 },
      { day: 26, thresholdDays: 14, daysLeft: 14 },
      { day: 33, thresholdDays: 7, daysLeft: 7 },
      { day: 39, thresholdDays: 1, daysLeft: 1 },
    ]);
    expect(alerted.sort((a, b) => a - b)).toEqual([1, 7, 14, 30]);
  });

  it("a weekly scan skips thresholds but never repeats one", () => {
    const notAfter = daysFromNow(40);
    const alerted: number[] = [];
    const sent: number[] = [];
    for (let day = 0; day <= 42; day += 7) {
      const alert = pendingExpiryAlert({ notAfter, now: daysFromNow(day), alreadyAlerted: alerted });
      if (!alert) continue;
      sent.push(alert.thresholdDays);
      alerted.push(...alert.covers.filter((t) => !alerted.includes(t)));
    }
    // Scans at 40, 33, 26, 19, 12, 5 and -2 days left.
    expect(sent).toEqual([30, 14, 7, 1]);
  });
});

describe("alertedAfter", () => {
  it.each([
    { name: "no alert: what was alerted stays", already: [30], alert: undefined, expected: [30] },
    {
      name: "an alert adds every threshold it covers, most distant first, each once",
      already: [30, 14],
      alert: { thresholdDays: 1, daysLeft: 0, covers: [1, 7, 14, 30] },
      expected: [30, 14, 7, 1],
    },
    { name: "nothing alerted yet", already: [], alert: undefined, expected: [] },
  ])("$name", ({ already, alert, expected }) => {
    expect(alertedAfter(already, alert)).toEqual(expected);
  });
});

describe("validateThresholds", () => {
  it.each([
    { name: "negative", thresholds: [30, -1] },
    { name: "fractional", thresholds: [1.5] },
    { name: "NaN", thresholds: [Number.NaN] },
    { name: "infinite", thresholds: [Number.POSITIVE_INFINITY] },
  ])("rejects $name thresholds with RangeError", ({ thresholds }) => {
    expect(() => validateThresholds(thresholds)).toThrow(RangeError);
    expect(() =>
      pendingExpiryAlert({ notAfter: daysFromNow(1), now: NOW, thresholdsDays: thresholds }),
    ).toThrow(/alert thresholds must be whole days >= 0/);
  });

  it("accepts 0 and whole days", () => {
    expect(() => validateThresholds([0, 1, 7, 365])).not.toThrow();
  });
});
