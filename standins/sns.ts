/**
 * Amazon SNS stand-in (awsQuery protocol: form-encoded `Action=Publish&...` POSTs, XML answers), served to
 * the real `@aws-sdk/client-sns` over loopback HTTP. It claims POSTs signed for the `sns` service.
 *
 * Operations: Publish (to topics) and CreateTopic; every delivered message is recorded for tests.
 *
 * Rules enforced (SNS API reference, Publish):
 * - TopicArn must be a well-formed SNS ARN in the region the request is signed for (400 InvalidParameter)
 *   and name an existing topic (404 NotFound). TargetArn/PhoneNumber are not modelled (InvalidParameter).
 * - Message is required and non-empty (InvalidParameter); message plus attributes at most 262,144 bytes
 *   (InvalidParameter "Message too long"). MessageStructure=json needs a JSON object with a "default" entry.
 * - Subject: printable ASCII only, beginning with a letter, number or punctuation mark, no line breaks or
 *   control characters, fewer than 100 characters (InvalidParameter). This is the strictest reading of
 *   AWS's two published wordings ("ASCII ... begins with a letter, number or punctuation mark" and "UTF-8 ...
 *   less than 100 characters long"), so what passes here passes AWS.
 * - Message attributes (400 ParameterValueInvalid, the SDK's InvalidParameterValueException): at most 10;
 *   names of A-Z a-z 0-9 _ - . (at most 256, no leading/trailing/double period, no AWS./Amazon. prefix);
 *   DataType String, Number, Binary or String.Array (optionally with a custom `.label`); String, Number and
 *   String.Array need a non-empty StringValue, Binary a BinaryValue; Number must parse as a number and
 *   String.Array as a JSON array.
 */
import { randomUUID } from "node:crypto";
import { ACCOUNT_ID, AwsError, escapeXml, queryErrorResponse } from "./protocol.ts";
import { queryActionOf, type WireRequest, type WireResponse, type WireService } from "./server.ts";

const API_VERSION = "2010-03-31";
const XMLNS = `http://sns.amazonaws.com/doc/${API_VERSION}/`;

/** SNS: a message, attributes included, may be at most 256 KiB. */
export const MAX_MESSAGE_BYTES = 262_144;
/** SNS: at most 10 message attributes per message. */
export const MAX_MESSAGE_ATTRIBUTES = 10;

export interface PublishedMessage {
  topicArn: string;
  subject: string | undefined;
  message: string;
  /** Attribute name -> StringValue (BinaryValue as base64). */
  attributes: Record<string, string>;
  /** Attribute name -> DataType. */
  attributeTypes: Record<string, string>;
  messageId: string;
}

interface Attribute {
  dataType: string;
  value: string;
}

export class SnsStandin implements WireService {
  readonly service = "sns";
  /** Topic ARN -> name. */
  readonly #topics = new Map<string, string>();
  readonly #messages: PublishedMessage[] = [];

  // ---- plain methods for tests --------------------------------------------------------------------------

  /** Creates a standard topic (idempotent) and returns its ARN. */
  createTopic(name: string, region = "us-east-1"): string {
    if (!/^[A-Za-z0-9_-]{1,256}$/.test(name)) {
      throw new Error(`invalid topic name '${name}' (FIFO topics are not modelled by the stand-in)`);
    }
    const arn = `arn:aws:sns:${region}:${ACCOUNT_ID}:${name}`;
    this.#topics.set(arn, name);
    return arn;
  }

  topics(): string[] {
    return [...this.#topics.keys()].sort();
  }

  /** Messages delivered, oldest first, optionally only those published to one topic. */
  messages(topicArn?: string): PublishedMessage[] {
    return this.#messages
      .filter((m) => topicArn === undefined || m.topicArn === topicArn)
      .map((m) => ({ ...m, attributes: { ...m.attributes }, attributeTypes: { ...m.attributeTypes } }));
  }

  // ---- WireService --------------------------------------------------------------------------------------

  operationFor(request: WireRequest): string | undefined {
    return queryActionOf(request, "sns");
  }

  handle(operation: string, request: WireRequest): WireResponse {
    const params = new URLSearchParams(request.body);
    if (params.get("Version") !== API_VERSION) {
      throw new AwsError("InvalidParameterValue", `Version must be ${API_VERSION}`);
    }
    const region = request.region ?? "us-east-1";
    switch (operation) {
      case "Publish": {
        const messageId = this.#publish(params, region);
        return answer("Publish", `<MessageId>${messageId}</MessageId>`);
      }
      case "CreateTopic": {
        const name = params.get("Name") ?? "";
        if (!/^[A-Za-z0-9_-]{1,256}$/.test(name)) {
          throw new AwsError("InvalidParameter", "Invalid parameter: Topic Name");
        }
        return answer("CreateTopic", `<TopicArn>${escapeXml(this.createTopic(name, region))}</TopicArn>`);
      }
      default:
        throw new AwsError("InvalidAction", `The action ${operation} is not valid for this web service.`);
    }
  }

  /** SNS's error document: `<ErrorResponse>` in the SNS namespace. */
  errorResponse(error: AwsError): WireResponse {
    return queryErrorResponse(XMLNS, error);
  }

  // ---- Publish ------------------------------------------------------------------------------------------

  #publish(params: URLSearchParams, region: string): string {
    const topicArn = params.get("TopicArn");
    if (params.has("TargetArn") || params.has("PhoneNumber")) {
      throw new AwsError(
        "InvalidParameter",
        "Invalid parameter: the stand-in publishes to topics only (TargetArn and PhoneNumber are not modelled)",
      );
    }
    if (!topicArn) {
      throw new AwsError(
        "InvalidParameter",
        "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
      );
    }
    const arn = /^arn:aws:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256})$/.exec(topicArn);
    if (!arn || arn[1] !== region) throw new AwsError("InvalidParameter", "Invalid parameter: TopicArn");

    const message = params.get("Message") ?? "";
    if (message === "") throw new AwsError("InvalidParameter", "Invalid parameter: Empty message");
    const subject = params.has("Subject") ? (params.get("Subject") ?? "") : undefined;
    if (subject !== undefined && !/^[\x21-\x7e][\x20-\x7e]{0,98}$/.test(subject)) {
      throw new AwsError("InvalidParameter", "Invalid parameter: Subject");
    }
    const attributes = readAttributes(params);
    let size = Buffer.byteLength(message);
    for (const [name, a] of attributes) {
      size += Buffer.byteLength(name) + Buffer.byteLength(a.dataType) + Buffer.byteLength(a.value);
    }
    if (size > MAX_MESSAGE_BYTES)
      throw new AwsError("InvalidParameter", "Invalid parameter: Message too long");
    checkStructure(params.get("MessageStructure"), message);

    if (!this.#topics.has(topicArn)) throw new AwsError("NotFound", "Topic does not exist", 404);
    const messageId = randomUUID();
    this.#messages.push({
      topicArn,
      subject,
      message,
      attributes: Object.fromEntries([...attributes].map(([name, a]) => [name, a.value])),
      attributeTypes: Object.fromEntries([...attributes].map(([name, a]) => [name, a.dataType])),
      messageId,
    });
    return messageId;
  }
}

function answer(action: string, result: string): WireResponse {
  return {
    status: 200,
    headers: { "content-type": "text/xml" },
    body:
      `<${action}Response xmlns="${XMLNS}"><${action}Result>${result}</${action}Result>` +
      `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

function invalidValue(message: string): AwsError {
  return new AwsError("ParameterValueInvalid", message);
}

/** `MessageAttributes.entry.N.{Name,Value.DataType,Value.StringValue,Value.BinaryValue}`, checked. */
function readAttributes(params: URLSearchParams): Map<string, Attribute> {
  const indices = new Set<string>();
  for (const key of params.keys()) {
    const index = /^MessageAttributes\.entry\.(\d+)\./.exec(key)?.[1];
    if (index !== undefined) indices.add(index);
  }
  if (indices.size > MAX_MESSAGE_ATTRIBUTES) {
    throw invalidValue(
      `Number of message attributes [${indices.size}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`,
    );
  }
  const attributes = new Map<string, Attribute>();
  for (const index of [...indices].sort((a, b) => Number(a) - Number(b))) {
    const field = (name: string) => params.get(`MessageAttributes.entry.${index}.${name}`) ?? "";
    const name = field("Name");
    checkAttributeName(name);
    const dataType = field("Value.DataType");
    if (dataType === "") {
      throw invalidValue(`The message attribute '${name}' must contain non-empty message attribute type.`);
    }
    const prefix = /^(String|Number|Binary)(\.[\x21-\x7e]+)?$/.exec(dataType)?.[1];
    if (!prefix || dataType.length > 256) {
      throw invalidValue(
        `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`,
      );
    }
    const value = field(prefix === "Binary" ? "Value.BinaryValue" : "Value.StringValue");
    if (value === "") {
      throw invalidValue(
        `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`,
      );
    }
    if (prefix === "Number" && !Number.isFinite(Number(value))) {
      throw invalidValue(`Could not cast message attribute '${name}' value to number.`);
    }
    if (dataType === "String.Array" && !isJsonArray(value)) {
      throw invalidValue(`The message attribute '${name}' with type 'String.Array' must hold a JSON array.`);
    }
    attributes.set(name, { dataType, value });
  }
  return attributes;
}

function checkAttributeName(name: string): void {
  const valid =
    /^[A-Za-z0-9_.-]{1,256}$/.test(name) &&
    !name.startsWith(".") &&
    !name.endsWith(".") &&
    !name.includes("..") &&
    !/^(aws|amazon)\./i.test(name);
  if (!valid) {
    throw invalidValue(
      `The message attribute name '${name}' is invalid. Attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) characters; it must not start or end with a period, contain two periods in a row, or start with AWS. or Amazon.`,
    );
  }
}

function isJsonArray(text: string): boolean {
  try {
    return Array.isArray(JSON.parse(text));
  } catch {
    return false;
  }
}

function checkStructure(structure: string | null, message: string): void {
  if (structure === null) return;
  if (structure !== "json") throw new AwsError("InvalidParameter", "Invalid parameter: MessageStructure");
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    throw new AwsError(
      "InvalidParameter",
      "Invalid parameter: Message Structure - JSON message body failed to parse",
    );
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    typeof (parsed as { default?: unknown }).default !== "string"
  ) {
    throw new AwsError(
      "InvalidParameter",
      "Invalid parameter: Message Structure - No default entry in JSON message body",
    );
  }
}
