/**
 * What the CloudFront stand-in's parts (distributions, trust stores, origin request policies) share of
 * CloudFront's REST-XML wire: the API version and namespace, reading request documents and CloudFront lists
 * (`Quantity` + `Items`), writing elements, ETags and the If-Match precondition.
 */
import { randomInt } from "node:crypto";
import { AwsError, escapeXml } from "./protocol.ts";
import { parseXml, type XmlElement, XmlSyntaxError } from "./xml.ts";

export const API_VERSION = "2020-05-31";
export const XMLNS = `http://cloudfront.amazonaws.com/doc/${API_VERSION}/`;
export const XML_PROLOG = `<?xml version="1.0" encoding="UTF-8"?>`;

/** The root element of a request body, which must be `rootName` (400 MalformedInput otherwise). */
export function readDocument(body: string, rootName: string): XmlElement {
  let root: XmlElement;
  try {
    root = parseXml(body);
  } catch (error) {
    if (error instanceof XmlSyntaxError)
      throw new AwsError("MalformedInput", `Malformed XML: ${error.message}`);
    throw error;
  }
  if (root.localName !== rootName) {
    throw new AwsError("MalformedInput", `Unexpected root element ${root.name}; expected ${rootName}.`);
  }
  return root;
}

/** The items of a CloudFront list (`<Quantity>` + `<Items>`), checking that the two agree. */
export function itemsOf(list: XmlElement | undefined, path: string): XmlElement[] {
  if (!list) return [];
  const quantityText = requiredText(list, "Quantity");
  const quantity = Number(quantityText);
  if (!Number.isInteger(quantity) || quantity < 0) {
    throw new AwsError(
      "MalformedInput",
      `${path}.Quantity must be a non-negative integer, not '${quantityText}'.`,
    );
  }
  const items = childOf(list, "Items")?.children ?? [];
  if (items.length !== quantity) {
    throw new AwsError(
      "InconsistentQuantities",
      `The value of ${path}.Quantity (${quantity}) and the size of ${path}.Items (${items.length}) don't match.`,
    );
  }
  return items;
}

export function childOf(parent: XmlElement | undefined, localName: string): XmlElement | undefined {
  return parent?.children.find((c) => c.localName === localName);
}

export function requiredChild(parent: XmlElement, localName: string): XmlElement {
  const child = childOf(parent, localName);
  if (!child)
    throw new AwsError("MalformedInput", `Missing required element ${parent.localName}.${localName}.`);
  return child;
}

export function requiredText(parent: XmlElement, localName: string): string {
  return requiredChild(parent, localName).text.trim();
}

export function element(name: string, text: string): string {
  return `<${name}>${escapeXml(text)}</${name}>`;
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

export function randomAlphanumeric(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** CloudFront ETags look like distribution ids: "E" and 13 uppercase alphanumerics; never the previous one. */
export function newEtag(previous?: string): string {
  for (;;) {
    const etag = `E${randomAlphanumeric(13)}`;
    if (etag !== previous) return etag;
  }
}

/**
 * CloudFront's optimistic lock on a write: `If-Match` must be present (400 InvalidIfMatchVersion) and equal
 * to the resource's current ETag (412 PreconditionFailed).
 */
export function checkIfMatch(ifMatch: string | string[] | undefined, currentEtag: string): void {
  if (typeof ifMatch !== "string" || ifMatch === "") {
    throw new AwsError(
      "InvalidIfMatchVersion",
      "The If-Match version is missing or not valid for the resource.",
    );
  }
  if (ifMatch !== currentEtag) {
    throw new AwsError(
      "PreconditionFailed",
      "The precondition given in one or more of the request fields evaluated to false.",
      412,
    );
  }
}

/**
 * `MaxItems` of a CloudFront listing: 1..100, default 100. [cloudfront.list-page-size] The model does not
 * bound it; CloudFront's older API references give 100 as maximum and default (assumed: if CloudFront allowed
 * more, the service would only page more often than it must).
 */
export function listMaxItems(text: string | null | undefined): number {
  const maxItems = text === null || text === undefined ? 100 : Number(text);
  if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 100) {
    throw new AwsError("InvalidArgument", "MaxItems must be an integer between 1 and 100.");
  }
  return maxItems;
}

/** One page of `ids` (sorted) after `marker`: the page and whether more follow. */
export function pageAfter(
  ids: string[],
  marker: string,
  maxItems: number,
): { page: string[]; truncated: boolean } {
  const remaining = ids.filter((id) => id > marker);
  const page = remaining.slice(0, maxItems);
  return { page, truncated: remaining.length > page.length };
}
