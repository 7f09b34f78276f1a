/**
 * How fast the room lets people out. Regression for a room that held the upstream at a fraction of
 * its capacity: every admitted browser kept a slot until its next status poll (seconds later), and one
 * that never came back kept it for the whole grace. Now the waiting page's polls near the front are
 * held and answered the moment the place is admitted, and an uncollected admission stops holding
 * capacity after RESERVE_MS (it stays good for the grace).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RESERVE_MS } from '../../src/room/room.js';
import { blockingOrigin, get, harness, navigate, occupy, sleep, until, type Harness, type Reply } from './proxyHelpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const clients = { identity: { client: [{ header: 'x-client-id' }] } };

function pollPath(page: Reply): string {
  // The page's own status path, as its script uses it (with wait=1), from the JSON data block.
  const data = JSON.parse(/<script type="application\/json" id="anteroom-data">([^<]*)<\/script>/.exec(page.body)![1]!) as { statusPath: string; ticket: string };
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
});
