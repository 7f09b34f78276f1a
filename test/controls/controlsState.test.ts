/**
 * The switches' state on a fake clock: each kind of block finds what it names and nothing else,
 * websocket-only blocks spare plain HTTP, expired blocks stop matching at once and are removed, the
 * tenant's own mode wins over the global one, and `quiet` holds exactly while nothing is blocked and
 * no tenant is in maintenance.
 */
import { describe, expect, it } from 'vitest';
import { ControlsState, type BlockSubject } from '../../src/controls/controlsState.js';
import type { Block, ModeSetting } from '../../src/controls/model.js';

let nextId = 0;
function block(kind: Block['kind'], value: string, extra: Partial<Block> = {}): Block {
  return { type: 'block', id: `b${++nextId}`, kind, value, reason: 'test', websocketsOnly: false, closeWebsockets: false, createdAt: 0, expiresAt: null, ...extra };
}

function mode(tenant: string | null, m: ModeSetting['mode']): ModeSetting {
  return { type: 'mode', tenant, mode: m, setAt: 0 };
}

const alice: BlockSubject = { clientKey: 's:alice', clientIp: '203.0.113.7', tenant: 'acme', routeName: 'api' };
const bob: BlockSubject = { clientKey: 's:bob', clientIp: '198.51.100.9', tenant: 'globex', routeName: 'inbox' };
const v6: BlockSubject = { clientKey: 'ip:2001:db8::/64', clientIp: '2001:db8:0:0::42', tenant: 'acme', routeName: 'api' };

describe('ControlsState', () => {
  it('is quiet with nothing set and finds no block', () => {
    const s = new ControlsState(() => 0);
    expect(s.quiet).toBe(true);
    expect(s.blockFor(alice, false)).toBeNull();
    expect(s.modeOf('acme')).toBeNull();
  });

  it.each([
    ['client', 's:alice'],
    ['tenant', 'acme'],
    ['route', 'api'],
    ['ip', '203.0.113.7'],
    ['ip', '203.0.113.0/24'],
  ] as const)('a %s block of %s refuses alice and not bob', (kind, value) => {
    const s = new ControlsState(() => 0);
    const b = block(kind, value);
    s.put(b);
    expect(s.quiet).toBe(false);
    expect(s.blockFor(alice, false)).toBe(b);
    expect(s.blockFor(alice, true)).toBe(b);
    expect(s.blockFor(bob, false)).toBeNull();
    expect(s.blockFor(bob, true)).toBeNull();
  });

  it('matches IPv6 addresses and prefixes whatever their spelling', () => {
    const s = new ControlsState(() => 0);
    const exact = block('ip', '2001:0db8::42');
    s.put(exact);
    expect(s.blockFor(v6, false)).toBe(exact);
    s.remove(`b:${exact.id}`);
    const prefix = block('ip', '2001:db8::/32');
    s.put(prefix);
    expect(s.blockFor(v6, false)).toBe(prefix);
    expect(s.blockFor(alice, false)).toBeNull();
  });

  it('finds session blocks by their key only when asked', () => {
    const s = new ControlsState(() => 0);
    const b = block('session', 's:hashed');
    s.put(b);
    expect(s.sessionBlocks).toBe(1);
    expect(s.sessionBlock('s:hashed', false)).toBe(b);
    expect(s.sessionBlock('s:other', false)).toBeNull();
    // A session block is not a client block, whatever the client key says.
    expect(s.blockFor({ ...alice, clientKey: 's:hashed' }, false)).toBeNull();
  });

  it('lets plain HTTP through a websocket-only block and refuses the upgrade', () => {
    const s = new ControlsState(() => 0);
    const b = block('tenant', 'acme', { websocketsOnly: true });
    s.put(b);
    expect(s.blockFor(alice, false)).toBeNull();
    expect(s.blockFor(alice, true)).toBe(b);
    const ipWs = block('ip', '203.0.113.0/24', { websocketsOnly: true });
    s.put(ipWs);
    expect(s.blockFor({ ...alice, tenant: 'other' }, false)).toBeNull();
    expect(s.blockFor({ ...alice, tenant: 'other' }, true)).toBe(ipWs);
  });

  it('stops matching a block at its expiry, and expire() removes it', () => {
    let now = 1_000;
    const s = new ControlsState(() => now);
    const b = block('client', 's:alice', { expiresAt: 5_000 });
    s.put(b);
    expect(s.nextExpiry()).toBe(5_000);
    now = 4_999;
    expect(s.blockFor(alice, false)).toBe(b);
    now = 5_000;
    expect(s.blockFor(alice, false)).toBeNull();
    expect(s.blocks()).toEqual([]);
    expect(s.expire()).toEqual([b]);
    expect(s.quiet).toBe(true);
    expect(s.nextExpiry()).toBeNull();
  });

  it('with two blocks on one value, the one that lasts longer holds after the other expires', () => {
    let now = 0;
    const s = new ControlsState(() => now);
    const short = block('tenant', 'acme', { expiresAt: 100 });
    const long = block('tenant', 'acme', { expiresAt: 1_000 });
    s.put(short);
    s.put(long);
    now = 500;
    expect(s.blockFor(alice, false)).toBe(long);
  });

  it("takes the tenant's own mode over the global one", () => {
    const s = new ControlsState(() => 0);
    s.put(mode(null, 'pause'));
    s.put(mode('acme', 'open'));
    expect(s.modeOf('acme')!.mode).toBe('open');
    expect(s.modeOf('globex')!.mode).toBe('pause');
    // Pause alone blocks nothing: the guard stays out of it.
    expect(s.quiet).toBe(true);
    s.put(mode('globex', 'maintenance'));
    expect(s.quiet).toBe(false);
    s.remove('m:t:globex');
    expect(s.quiet).toBe(true);
  });

  it('bumps the generation on every change and replaces everything from a snapshot', () => {
    const s = new ControlsState(() => 0);
    const g = s.generation;
    s.put(block('client', 's:x'));
    expect(s.generation).toBe(g + 1);
    s.replace([mode('acme', 'queue-all')]);
    expect(s.generation).toBe(g + 2);
    expect(s.blocks()).toEqual([]);
    expect(s.modeOf('acme')!.mode).toBe('queue-all');
  });
});
