/**
 * Reading the rotation table, as the stores need it: one item by its key (GetItem) and one page of a Query.
 * Items and values are plain JSON data (DynamoDB's attribute values converted as the document client
 * converts them). Two transports serve it: the SDK's document client (`documentTableReads` in
 * rotation-store.ts, for every function that also writes) and a SigV4-signed fetch of DynamoDB's JSON API
 * (`SignedTable` in signed-table.ts), so the read-only API routes bundle no SDK client.
 */

/** An item, or a key, as plain data. */
export type Item = Record<string, unknown>;

/** The members of a Query the stores use; `TableName` is the transport's. */
export interface TableQuery {
  IndexName?: string;
  KeyConditionExpression: string;
  FilterExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
  ScanIndexForward?: boolean;
  Limit?: number;
  ExclusiveStartKey?: Item;
  ConsistentRead?: boolean;
}

export interface TablePage {
  items: Item[];
  /** Where the next page starts; absent on the last page. */
  lastKey?: Item;
}

/** The one write a route without an SDK client makes: an item put only where none is (a request, once). */
export interface TableWrites {
  /** Put `item` unless an item with its key exists; false when one did (nothing written). */
  putIfAbsent(item: Item): Promise<boolean>;
  /**
   * Delete the item under `key` only while its attribute `name` is `value` (a lock still held by whom the
   * caller read); false when it was not (nothing deleted).
   */
  deleteIfHeld(key: Item, name: string, value: string): Promise<boolean>;
}

export interface TableReads {
  /** The item under `key`, or undefined when there is none. */
  getItem(key: Item, options?: { consistentRead?: boolean }): Promise<Item | undefined>;
  /** One page of `query`. */
  query(query: TableQuery): Promise<TablePage>;
}
