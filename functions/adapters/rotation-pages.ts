/**
 * The API's pages of a rotation: its state with one page of its distributions, and its newest events a page
 * at a time. Apart from RotationReads so that the workflow, whose store extends RotationReads, does not carry
 * what only the API reads.
 */
import { outcomeCounts, type RotationEvent, type RotationState } from "../core/rotation.ts";
import {
  decodeDistributionsToken,
  historyItemsPage,
  isObject,
  RotationReads,
  RotationStoreError,
  rotationPk,
  waveSize,
  withDistributions,
} from "./rotation-reads.ts";

export class RotationPages extends RotationReads {
  /**
   * The rotation for the API: its state with one page of its distributions (in their waves, with their
   * baselines), each wave's `size` and `counts` for all pages; `nextToken` for the next page. A state item
   * written before distributions were their own items holds them all: one page.
   */
  async rotationPage(
    rotationId: string,
    options: { limit?: number; nextToken?: string } = {},
  ): Promise<{ state: RotationState; nextToken?: string } | undefined> {
    const stored = await this.stateItem(rotationId);
    if (!stored) return undefined;
    const { state } = stored;
    if (!stored.summary) {
      if (options.nextToken !== undefined) decodeDistributionsToken(options.nextToken, rotationId);
      return {
        state: {
          ...state,
          waves: state.waves.map((w) => ({ ...w, size: waveSize(w), counts: outcomeCounts(w) })),
        },
      };
    }
    const page = await this.distributionsPage(rotationId, options, state);
    const placed = withDistributions(state, page.distributions);
    return {
      state: { ...placed, waves: placed.waves.map((w, i) => ({ ...w, size: waveSize(state.waves[i]!) })) },
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    };
  }

  /**
   * The newest `limit` events before sequence `before` (all when absent), in sequence order, and the
   * sequence of the first one (`start`): the next older page is `before: start`.
   */
  async historyPage(
    rotationId: string,
    options: { limit: number; before?: number },
  ): Promise<{ events: RotationEvent[]; start: number }> {
    const { items, start } = await historyItemsPage(this.tableReads, rotationPk(rotationId), options);
    const events = items.map((item) => {
      if (!isObject(item.event))
        throw new RotationStoreError(
          `history item ${String(item.sk)} of rotation ${rotationId} has no event`,
        );
      return item.event as unknown as RotationEvent;
    });
    return { events, start };
  }
}
