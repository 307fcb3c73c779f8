/**
 * Amazon EventBridge stand-in (awsJson1_1, `X-Amz-Target: AWSEvents.<Operation>`), served to the real
 * `@aws-sdk/client-eventbridge` over loopback HTTP.
 *
 * Operations: PutEvents, DescribeEventBus, CreateEventBus. Every accepted event is recorded for tests with the
 * EventId it was answered with.
 *
 * Rules enforced (EventBridge API reference PutEvents / PutEventsRequestEntry / PutEventsResultEntry, and
 * "Calculating PutEvents event entry size"):
 * - Request level (400 ValidationException, nothing recorded): Entries holds 1-10 entries; the total entry
 *   size is at most 256 KB (262,144 bytes), computed as AWS documents it: Time 14 bytes if present, plus
 *   the UTF-8 bytes of Source, DetailType, Detail and each Resources entry; EventBusName 1-1600 characters,
 *   a name (`[\.\-_A-Za-z0-9]+`, no `/`: partner buses are not PutEvents targets) or an event-bus ARN.
 * - Entry level (the call succeeds; the entry carries ErrorCode/ErrorMessage instead of an EventId and counts
 *   in FailedEntryCount; other entries are still accepted): Source, DetailType and Detail are required
 *   (InvalidArgument, with AWS's messages), and a request in which no entry has all three fails as a whole
 *   (ValidationException; the code is assumed); Detail must be a JSON object (MalformedDetail "Detail is
 *   malformed."); a Source beginning with "aws." is reserved for AWS services (NotAuthorizedForSourceException).
 *   Stricter than AWS (which drops such events silently, by reports): DetailType longer than 128
 *   characters is refused (InvalidArgument).
 * - An event bus that does not exist: AWS answers PutEvents with an EventId and drops the event (a long-standing
 *   reported behaviour, aws/aws-sdk#186). The stand-in does the same and records the event as dropped, so a
 *   test can see it went nowhere; DescribeEventBus answers ResourceNotFoundException for it, which is how a
 *   caller can check its configuration. The bus `default` always exists.
 */
import { randomUUID } from "node:crypto";
import { ACCOUNT_ID, AwsError, type JsonService, type StandinRequest } from "./protocol.ts";

/** PutEvents: at most 10 entries per request. */
export const MAX_ENTRIES = 10;
/** PutEvents: total entry size at most 256 KB. */
export const MAX_REQUEST_BYTES = 262_144;
/** Assumed cap on DetailType (see the file comment). */
export const MAX_DETAIL_TYPE_LENGTH = 128;

export interface RecordedEvent {
  eventId: string;
  /** The bus name (an ARN in the request is resolved to its name). */
  eventBusName: string;
  source: string;
  detailType: string;
  /** The Detail string exactly as sent. */
  detail: string;
  resources: string[];
  time: Date;
  region: string;
}

interface Entry {
  Time?: unknown;
  Source?: unknown;
  Resources?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  TraceHeader?: unknown;
}

type ResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

const BUS_NAME = /^[/.\-_A-Za-z0-9]+$/;
const BUS_ARN = /^arn:aws[\w-]*:events:([a-z]+-[a-z]+-[\w-]+):(\d{12}):event-bus\/([/.\-_A-Za-z0-9]+)$/;
/**
 * A PutEvents entry's EventBusName: AWS's model (events 2015-10-07, shape NonPartnerEventBusNameOrArn) allows
 * `(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[\.\-_A-Za-z0-9]+`, matched whole: unlike
 * the names of CreateEventBus and DescribeEventBus (EventBusName, EventBusNameOrArn), no `/`.
 */
const PUT_EVENTS_BUS = /^(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[.\-_A-Za-z0-9]+$/;
const PUT_EVENTS_BUS_PATTERN =
  "(arn:aws[\\w-]*:events:[a-z]+-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[\\.\\-_A-Za-z0-9]+";

export class EventBridgeStandin implements JsonService {
  readonly service = "events";
  readonly targetPrefix = "AWSEvents";
  readonly #now: () => Date;
  /** "region/name" of each custom bus (default buses exist in every region). */
  readonly #buses = new Set<string>();
  readonly #events: RecordedEvent[] = [];
  readonly #dropped: RecordedEvent[] = [];

  constructor(options: { now?: () => Date } = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  // ---- plain methods for tests --------------------------------------------------------------------------

  /** Creates a custom event bus (idempotent); returns its ARN. */
  createEventBus(name: string, region = "us-east-1"): string {
    if (!BUS_NAME.test(name) || name.length > 256 || name.startsWith("aws.")) {
      throw new Error(`invalid event bus name '${name}'`);
    }
    if (name !== "default") this.#buses.add(`${region}/${name}`);
    return busArn(region, name);
  }

  /** Events delivered to a bus, oldest first; all buses when none is given. */
  events(eventBusName?: string): RecordedEvent[] {
    return this.#events
      .filter((e) => eventBusName === undefined || e.eventBusName === eventBusName)
      .map((e) => ({ ...e, resources: [...e.resources] }));
  }

  /** Events accepted with an EventId but dropped because their bus does not exist (as AWS does). */
  dropped(): RecordedEvent[] {
    return this.#dropped.map((e) => ({ ...e, resources: [...e.resources] }));
  }

  // ---- JsonService --------------------------------------------------------------------------------------

  handle(operation: string, input: Record<string, unknown>, request: StandinRequest): unknown {
    const region = request.region ?? "us-east-1";
    switch (operation) {
      case "PutEvents":
        return this.#putEvents(input, region);
      case "DescribeEventBus": {
        const name = busNameOf(typeof input.Name === "string" ? input.Name : "default", region);
        if (!this.#exists(region, name)) {
          throw new AwsError("ResourceNotFoundException", `Event bus ${name} does not exist.`);
        }
        return { Name: name, Arn: busArn(region, name) };
      }
      case "CreateEventBus": {
        const name = typeof input.Name === "string" ? input.Name : "";
        if (!BUS_NAME.test(name) || name.length > 256 || name === "default" || name.startsWith("aws.")) {
          throw new AwsError("ValidationException", `Event bus name '${name}' is not valid.`);
        }
        if (this.#exists(region, name)) {
          throw new AwsError("ResourceAlreadyExistsException", `Event bus ${name} already exists.`);
        }
        return { EventBusArn: this.createEventBus(name, region) };
      }
      default:
        throw new AwsError("UnknownOperationException", `The stand-in does not implement ${operation}`);
    }
  }

  // ---- PutEvents ----------------------------------------------------------------------------------------

  #putEvents(input: Record<string, unknown>, region: string): unknown {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length === 0) {
      throw new AwsError(
        "ValidationException",
        "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
      );
    }
    if (entries.length > MAX_ENTRIES) {
      throw new AwsError(
        "ValidationException",
        `1 validation error detected: Value '[...]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES}`,
      );
    }
    let total = 0;
    for (const [i, raw] of entries.entries()) {
      const entry = (typeof raw === "object" && raw !== null ? raw : {}) as Entry;
      total += entrySize(entry);
      checkBusName(entry.EventBusName, i);
    }
    if (total > MAX_REQUEST_BYTES) {
      throw new AwsError(
        "ValidationException",
        "Total size of the entries in the request is over the limit.",
      );
    }

    // AWS (PutEventsRequestEntry): "If you submit a request in which none of the entries have each of these
    // properties, EventBridge fails the entire request." The error code is assumed.
    if (
      entries.every(
        (raw) => !hasRequiredMembers((typeof raw === "object" && raw !== null ? raw : {}) as Entry),
      )
    ) {
      throw new AwsError(
        "ValidationException",
        "None of the entries has Source, DetailType and Detail: the request fails as a whole.",
      );
    }

    const results: ResultEntry[] = [];
    for (const raw of entries) {
      const entry = raw as Entry;
      const refusal = checkEntry(entry);
      if (refusal) {
        results.push(refusal);
        continue;
      }
      const eventId = randomUUID();
      const name = busNameOf(typeof entry.EventBusName === "string" ? entry.EventBusName : "default", region);
      const event: RecordedEvent = {
        eventId,
        eventBusName: name,
        source: entry.Source as string,
        detailType: entry.DetailType as string,
        detail: entry.Detail as string,
        resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
        time: typeof entry.Time === "number" ? new Date(entry.Time * 1000) : this.#now(),
        region,
      };
      (this.#exists(region, name) ? this.#events : this.#dropped).push(event);
      results.push({ EventId: eventId });
    }
    return {
      FailedEntryCount: results.filter((r) => "ErrorCode" in r).length,
      Entries: results,
    };
  }

  #exists(region: string, name: string): boolean {
    return name === "default" || this.#buses.has(`${region}/${name}`);
  }
}

/** The documented entry size: Time 14 bytes if present; UTF-8 bytes of Source, DetailType, Detail, Resources. */
export function entrySize(entry: Entry): number {
  const bytes = (value: unknown) => (typeof value === "string" ? Buffer.byteLength(value) : 0);
  let size = entry.Time !== undefined && entry.Time !== null ? 14 : 0;
  size += bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail);
  if (Array.isArray(entry.Resources)) for (const r of entry.Resources) size += bytes(r);
  return size;
}

function checkBusName(value: unknown, index: number): void {
  if (value === undefined || value === null) return;
  if (typeof value !== "string" || value.length < 1 || value.length > 1600 || !PUT_EVENTS_BUS.test(value)) {
    throw new AwsError(
      "ValidationException",
      `1 validation error detected: Value '${String(value)}' at 'entries.${index + 1}.member.eventBusName' failed to satisfy constraint: Member must satisfy regular expression pattern: ${PUT_EVENTS_BUS_PATTERN}`,
    );
  }
}

function hasRequiredMembers(entry: Entry): boolean {
  const present = (value: unknown) => typeof value === "string" && value !== "";
  return present(entry.Source) && present(entry.DetailType) && present(entry.Detail);
}

function checkEntry(entry: Entry): ResultEntry | undefined {
  const missing = (field: string) => ({
    ErrorCode: "InvalidArgument",
    ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
  });
  if (typeof entry.Source !== "string" || entry.Source === "") return missing("Source");
  if (typeof entry.DetailType !== "string" || entry.DetailType === "") return missing("DetailType");
  if (typeof entry.Detail !== "string" || entry.Detail === "") return missing("Detail");
  if (entry.DetailType.length > MAX_DETAIL_TYPE_LENGTH) {
    return {
      ErrorCode: "InvalidArgument",
      ErrorMessage: `Parameter DetailType is not valid. Reason: DetailType is longer than ${MAX_DETAIL_TYPE_LENGTH} characters.`,
    };
  }
  if (!isJsonObject(entry.Detail))
    return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." };
  if (entry.Source.startsWith("aws.")) {
    return { ErrorCode: "NotAuthorizedForSourceException", ErrorMessage: "Not authorized for the source." };
  }
  return undefined;
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** A bus name, or the name in an event-bus ARN of this account and region (a foreign ARN never exists here). */
function busNameOf(nameOrArn: string, region: string): string {
  const arn = BUS_ARN.exec(nameOrArn);
  if (!arn) return nameOrArn;
  return arn[1] === region && arn[2] === ACCOUNT_ID ? (arn[3] ?? "") : `${arn[2]}:${arn[1]}:${arn[3]}`;
}

function busArn(region: string, name: string): string {
  return `arn:aws:events:${region}:${ACCOUNT_ID}:event-bus/${name}`;
}
