/**
 * How fast the room lets people out. Regression for a room that held the upstream at a fraction of
 * its capacity: every admitted browser kept a slot until its next status poll (seconds later), and one
 * that never came back kept it for the whole grace. Now the waiting page's polls near the front are
 * held and answered the moment the place is admitted, and an uncollected admission stops holding
 * capacity after RESERVE_MS (it stays good for the grace).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RESERVE_MS } from '../../src/room/room.js';
import { send } from '../helpers/send.js';
import { blockingOrigin, get, harness, navigate, occupy, sleep, until, type Harness, type Reply } from './proxyHelpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const clients = { identity: { client: [{ header: 'x-client-id' }] } };

/** The waiting page's JSON data block. */
function pageData(page: Reply): { statusPath: string; ticket: string; pollAfterMs: number } {
  return JSON.parse(/<script type="application\/json" id="anteroom-data">([^<]*)<\/script>/.exec(page.body)![1]!) as { statusPath: string; ticket: string; pollAfterMs: number };
}

function pollPath(page: Reply): string {
  // The page's own status path, as its script uses it (with wait=1).
  const data = pageData(page);
  return `${data.statusPath}${data.statusPath.includes('?') ? '&' : '?'}ticket=${encodeURIComponent(data.ticket)}`;
}

describe('room outflow', () => {
  it("the page's poll near the front is held and answered the moment its place is admitted", async () => {
    h = await harness(await blockingOrigin(), { ...clients, room: { concurrency: 1, graceS: 30 } });
    const blocker = await occupy(h);
    const page = await navigate(h.proxy.port, '/page', { 'x-client-id': 'b1' });
    expect(page.status).toBe(503);
    const path = pollPath(page);
    expect(path).toContain('wait=1');
    // Without wait=1 a poll is answered at once.
    const plain = await get(h.proxy.port, path.replace('wait=1', 'wait=0'), { 'x-client-id': 'b1', accept: 'application/json' });
    expect(plain.json()['state']).toBe('waiting');

    let answered: Reply | null = null;
    const held = get(h.proxy.port, path, { 'x-client-id': 'b1', accept: 'application/json' }).then((r) => (answered = r));
    await sleep(300);
    expect(answered).toBeNull();
    h.origin.release('/block');
    await blocker.reply;
    const r = await held;
    expect(r.json()['state']).toBe('admitted');
    expect(r.cookie('anteroom_session')).toBeDefined();
  });

  it('an admitted browser that never comes back stops holding capacity after RESERVE_MS, and its admission stays good', async () => {
    h = await harness(await blockingOrigin(), { ...clients, room: { concurrency: 1, graceS: 30 } });
    const blocker = await occupy(h);
    const gone = await navigate(h.proxy.port, '/page', { 'x-client-id': 'gone' });
    const next = await navigate(h.proxy.port, '/page', { 'x-client-id': 'next' });
    expect([gone.status, next.status]).toEqual([503, 503]);
    const admittedAt = Date.now();
    h.origin.release('/block');
    await blocker.reply;
    // `gone` is admitted first and never polls; `next` is let in well before the grace (30 s) ends.
    const nextPath = pollPath(next);
    await until(() => h!.room.waiting === 0, 'both places admitted', 15_000);
    expect(Date.now() - admittedAt).toBeGreaterThanOrEqual(RESERVE_MS - 50);
    expect((await get(h.proxy.port, nextPath.replace('wait=1', 'wait=0'), { 'x-client-id': 'next', accept: 'application/json' })).json()['state']).toBe('admitted');
    // The first one's admission is still there when it finally comes back.
    expect((await get(h.proxy.port, pollPath(gone).replace('wait=1', 'wait=0'), { 'x-client-id': 'gone', accept: 'application/json' })).json()['state']).toBe('admitted');
  });

  it('before any admission rate is measured, places are asked about soon and those near the front are held', async () => {
    // Regression: with no rate yet (the first seconds of a spike), everyone past a few hundred was told
    // to poll again after the longest interval; places admitted meanwhile waited for holders who were
    // away, and those holders then all came back at once, past their turn.
    h = await harness(await blockingOrigin(), { ...clients, room: { concurrency: 1, graceS: 30 } });
    const blocker = await occupy(h);
    const pages: Reply[] = [];
    for (let i = 0; i < 300; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => navigate(h!.proxy.port, '/page', { 'x-client-id': `c${i + j}` })));
      pages.push(...batch);
    }
    expect(pages.every((p) => p.status === 503)).toBe(true);
    expect(h.room.waiting).toBe(300);
    const positions = await Promise.all(
      pages.map(async (p, i) => {
        const st = (await get(h!.proxy.port, pollPath(p).replace('wait=1', 'wait=0'), { 'x-client-id': `c${i}`, accept: 'application/json' })).json();
        return { position: st['position'] as number, pollAfterMs: st['pollAfterMs'] as number, page: p, client: `c${i}` };
      }),
    );
    // Within the few seconds of outflow the room assumes: held polls, asked to come straight back.
    const near = positions.find((p) => p.position === 200)!;
    expect(near.pollAfterMs).toBe(100);
    // Further back: asked again within seconds (the room's longest interval here is 12 s).
    const far = positions.find((p) => p.position === 300)!;
    expect(far.pollAfterMs).toBeGreaterThanOrEqual(1_000);
    expect(far.pollAfterMs).toBeLessThanOrEqual(2_000);
    // The poll of a place near the front is held until it is admitted, not answered at once.
    let answered = false;
    const held = send(h.proxy.port, pollPath(near.page), { headers: { 'x-client-id': near.client, accept: 'application/json' } });
    held.reply.then(
      () => (answered = true),
      () => undefined,
    );
    await sleep(300);
    expect(answered).toBe(false);
    held.req.destroy();
    h.origin.release('/block');
    await blocker.reply;
  });
});
