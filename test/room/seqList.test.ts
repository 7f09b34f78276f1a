import { describe, expect, it } from 'vitest';
import { SeqList } from '../../src/room/seqList.js';
import { prng } from './helpers.js';

interface Item {
  seq: number;
  id: string;
}

describe('SeqList', () => {
  it('matches a sorted array under random inserts, removals, shifts and ranks, across block splits', () => {
    const rnd = prng(1);
    const list = new SeqList<Item>();
    let ref: Item[] = [];
    let next = 0;
    for (let step = 0; step < 20_000; step++) {
      const r = rnd();
      if (r < 0.5) {
        // Mostly appends, some restores into the middle, some equal seqs ordered by id.
        const seq = rnd() < 0.7 ? next++ : Math.floor(rnd() * next);
        const item = { seq, id: `i${step}` };
        list.insert(item);
        let at = ref.findIndex((x) => x.seq > seq || (x.seq === seq && x.id > item.id));
        if (at < 0) at = ref.length;
        ref.splice(at, 0, item);
      } else if (r < 0.7 && ref.length > 0) {
        const item = ref[Math.floor(rnd() * ref.length)]!;
        expect(list.remove(item)).toBe(true);
        expect(list.remove(item)).toBe(false);
        ref = ref.filter((x) => x !== item);
      } else if (r < 0.8) {
        expect(list.shift()).toBe(ref.shift());
      } else if (ref.length > 0) {
        const i = Math.floor(rnd() * ref.length);
        expect(list.rank(ref[i]!)).toBe(i);
      }
      expect(list.size).toBe(ref.length);
    }
    expect(ref.length).toBeGreaterThan(1000);
    expect([...list]).toEqual(ref);
    expect(list.rank({ seq: -1, id: 'absent' })).toBe(-1);
  });
});
