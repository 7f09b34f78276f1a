/**
 * One (tenant, class) queue: items kept in (seq, id) order, with the rank of any item.
 *
 * Nearly every insert is an append (a new arrival has the highest seq), but a client coming back with a
 * ticket is slotted in at its old place, and after a restart every waiter comes back that way, in
 * whatever order their polls arrive. A plain array would make each such insert O(n) and a restart herd
 * O(n^2). So the list is an array of sorted blocks of at most BLOCK items (a "sorted list of lists"):
 * insert, remove and rank are a binary search over the blocks, one within a block, and a splice of at
 * most BLOCK pointers; rank adds the sizes of the blocks in front, O(n / BLOCK).
 */
export interface Sequenced {
  readonly seq: number;
  readonly id: string;
}

/** Big enough that the block index stays short, small enough that a splice is one cache-friendly copy. */
const BLOCK = 512;

function compare(a: Sequenced, b: Sequenced): number {
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class SeqList<T extends Sequenced> {
  #blocks: T[][] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The item with the lowest (seq, id). */
  first(): T | undefined {
    return this.#blocks[0]?.[0];
  }

  shift(): T | undefined {
    const block = this.#blocks[0];
    if (block === undefined) return undefined;
    const item = block.shift();
    this.#size--;
    if (block.length === 0) this.#blocks.shift();
    return item;
  }

  insert(item: T): void {
    this.#size++;
    const blocks = this.#blocks;
    const lastBlock = blocks[blocks.length - 1];
    if (lastBlock === undefined) {
      blocks.push([item]);
      return;
    }
    // Fast path: an arrival goes at the end.
    if (compare(lastBlock[lastBlock.length - 1]!, item) < 0) {
      if (lastBlock.length < BLOCK) lastBlock.push(item);
      else blocks.push([item]);
      return;
    }
    const b = this.#blockFor(item);
    const block = blocks[b]!;
    block.splice(lowerBound(block, item), 0, item);
    if (block.length > BLOCK) blocks.splice(b + 1, 0, block.splice(block.length >> 1));
  }

  /** Removes this item (by identity); false if it is not in the list. */
  remove(item: T): boolean {
    const b = this.#blockFor(item);
    const block = this.#blocks[b];
    if (block === undefined) return false;
    const i = lowerBound(block, item);
    if (block[i] !== item) return false;
    block.splice(i, 1);
    this.#size--;
    if (block.length === 0) this.#blocks.splice(b, 1);
    return true;
  }

  /** How many items are in front of this one; -1 if it is not in the list. */
  rank(item: T): number {
    const b = this.#blockFor(item);
    const block = this.#blocks[b];
    if (block === undefined) return -1;
    const i = lowerBound(block, item);
    if (block[i] !== item) return -1;
    let ahead = i;
    for (let k = 0; k < b; k++) ahead += this.#blocks[k]!.length;
    return ahead;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const block of this.#blocks) yield* block;
  }

  /** The first block whose last item is >= item, or the last block. */
  #blockFor(item: Sequenced): number {
    const blocks = this.#blocks;
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const block = blocks[mid]!;
      if (compare(block[block.length - 1]!, item) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function lowerBound(block: readonly Sequenced[], item: Sequenced): number {
  let lo = 0;
  let hi = block.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compare(block[mid]!, item) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
