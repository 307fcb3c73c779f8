/** What triggered a scan, as the scan function reads its event: the scheduler, or the API's invoke. */
import { describe, expect, it } from "vitest";
import { API_SCAN, SCHEDULED_SCAN, scanTriggerOf } from "../../functions/tracking/scan-trigger.ts";
import { PRINCIPAL } from "../support/api-events.ts";

describe("the scan handler's trigger", () => {
  it.each([
    ["the scheduler's event", {}, { trigger: SCHEDULED_SCAN, actor: SCHEDULED_SCAN }],
    ["no event", undefined, { trigger: SCHEDULED_SCAN, actor: SCHEDULED_SCAN }],
    ["the API's invoke", { source: "api", actor: PRINCIPAL }, { trigger: API_SCAN, actor: PRINCIPAL }],
    [
      "an API invoke with a malformed actor",
      { source: "api", actor: "x\ny" },
      { trigger: API_SCAN, actor: API_SCAN },
    ],
    [
      "an EventBridge event",
      { source: "aws.events", actor: PRINCIPAL },
      { trigger: SCHEDULED_SCAN, actor: SCHEDULED_SCAN },
    ],
  ])("%s", (_, event, expected) => {
    expect(scanTriggerOf(event)).toEqual(expected);
  });
});
