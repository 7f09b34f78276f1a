/**
 * The switches in force on this instance, indexed for the request path. Entries change rarely (an
 * operator's command, a message from another instance) and are read on every request, so every change
 * rebuilds the indexes from scratch and every read is a flag test or a map lookup:
 *
 * - `quiet` is true while nothing is blocked and no tenant is in maintenance: the guard's one check
 *   in the common case, without allocating or calling a clock;
 * - blocks are found by one map lookup per kind, skipped when that kind has none; addresses and CIDR
 *   blocks go through a node:net BlockList only while there are some;
 * - an expired block is treated as absent at once (the clock is read only for a block that matched)
 *   and removed by `expire()`, which the owner runs at `nextExpiry()`.
 */
import { BlockList } from 'node:net';
import { addAddressBlock, inList } from './addressBlock.js';
import { entryKey, type Block, type ControlEntry, type LimitOverride, type ModeSetting } from './model.js';

/** What a request is matched against; the pipeline's RequestContext has these fields. */
export interface BlockSubject {
  readonly clientKey: string;
  readonly clientIp: string;
  readonly tenant: string;
  readonly routeName: string;
}

/** Blocks of one kind by value: those that refuse everything, and those that refuse only upgrades. */
class BlockIndex {
  readonly all = new Map<string, Block>();
  readonly ws = new Map<string, Block>();

  get size(): number {
    return this.all.size + this.ws.size;
  }

  add(b: Block): void {
    const map = b.websocketsOnly ? this.ws : this.all;
    const prev = map.get(b.value);
    // Two blocks on one value: the one that lasts longer is the one a lookup must find.
    if (prev === undefined || outlasts(b, prev)) map.set(b.value, b);
  }
}

interface IpBlock {
  readonly block: Block;
  readonly list: BlockList;
}

export class ControlsState {
  /** Bumped on every change; caches derived from the state compare it. */
  generation = 0;
  /** Nothing blocked and no maintenance anywhere: the guard has nothing to do. */
  quiet = true;
  private readonly now: () => number;
  private readonly entries = new Map<string, ControlEntry>();
  private readonly clients = new BlockIndex();
  private readonly sessions = new BlockIndex();
  private readonly tenants = new BlockIndex();
  private readonly routes = new BlockIndex();
  private ips: IpBlock[] = [];
  private ipAny: BlockList | null = null;
  private blockCount = 0;
  private globalMode: ModeSetting | null = null;
  private readonly tenantModes = new Map<string, ModeSetting>();
  private readonly tenantOverrides = new Map<string, LimitOverride>();
  private readonly routeOverrides = new Map<string, LimitOverride>();

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  // --- changes ---------------------------------------------------------------------------------------

  /** Replaces everything (a snapshot from the shared store). */
  replace(entries: Iterable<ControlEntry>): void {
    this.entries.clear();
    for (const e of entries) this.entries.set(entryKey(e), e);
    this.rebuild();
  }

  /** Adds or replaces one entry. */
  put(entry: ControlEntry): void {
    this.entries.set(entryKey(entry), entry);
    this.rebuild();
  }

  /** Removes the entry under `key`; returns it, or undefined when there was none. */
  remove(key: string): ControlEntry | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    this.rebuild();
    return e;
  }

  get(key: string): ControlEntry | undefined {
    return this.entries.get(key);
  }

  /** Removes the blocks whose time is up; returns them. */
  expire(): Block[] {
    const now = this.now();
    const gone: Block[] = [];
    for (const [key, e] of this.entries) {
      if (e.type === 'block' && e.expiresAt !== null && e.expiresAt <= now) {
        this.entries.delete(key);
        gone.push(e);
      }
    }
    if (gone.length > 0) this.rebuild();
    return gone;
  }

  /** When the next block expires (ms since the epoch), or null. */
  nextExpiry(): number | null {
    let next: number | null = null;
    for (const e of this.entries.values()) {
      if (e.type === 'block' && e.expiresAt !== null && (next === null || e.expiresAt < next)) next = e.expiresAt;
    }
    return next;
  }

  // --- listing ---------------------------------------------------------------------------------------

  all(): IterableIterator<ControlEntry> {
    return this.entries.values();
  }

  blocks(): Block[] {
    const now = this.now();
    return [...this.entries.values()].filter((e): e is Block => e.type === 'block' && live(e, now)).sort((a, b) => a.createdAt - b.createdAt);
  }

  modes(): { global: ModeSetting | null; tenants: ModeSetting[] } {
    return { global: this.globalMode, tenants: [...this.tenantModes.values()].sort((a, b) => a.tenant!.localeCompare(b.tenant!)) };
  }

  overrides(): LimitOverride[] {
    return [...this.tenantOverrides.values(), ...this.routeOverrides.values()];
  }

  // --- the request path ------------------------------------------------------------------------------

  /** The block that refuses this request (an upgrade also meets `websocketsOnly` blocks), or null. */
  blockFor(s: BlockSubject, upgrade: boolean): Block | null {
    if (this.blockCount === 0) return null;
    return (
      this.match(this.clients, s.clientKey, upgrade) ??
      this.match(this.tenants, s.tenant, upgrade) ??
      this.match(this.routes, s.routeName, upgrade) ??
      (this.ipAny !== null ? this.matchIp(s.clientIp, upgrade) : null)
    );
  }

  /** Whether any session is blocked (the guard then works out the request's session keys). */
  get sessionBlocks(): number {
    return this.sessions.size;
  }

  sessionBlock(sessionKey: string, upgrade: boolean): Block | null {
    return this.match(this.sessions, sessionKey, upgrade);
  }

  /** The runtime mode of a tenant: its own, else the global one; null when the operator set neither. */
  modeOf(tenant: string): ModeSetting | null {
    if (this.globalMode === null && this.tenantModes.size === 0) return null;
    return this.tenantModes.get(tenant) ?? this.globalMode;
  }

  /** Whether any mode is set at runtime (the admit phase then looks the tenant's up). */
  get modesSet(): boolean {
    return this.globalMode !== null || this.tenantModes.size > 0;
  }

  get globalSetting(): ModeSetting | null {
    return this.globalMode;
  }

  /** Tenants with a mode of their own, and that mode. */
  tenantModeEntries(): IterableIterator<[string, ModeSetting]> {
    return this.tenantModes.entries();
  }

  tenantOverride(tenant: string): LimitOverride | undefined {
    return this.tenantOverrides.size === 0 ? undefined : this.tenantOverrides.get(tenant);
  }

  routeOverride(route: string): LimitOverride | undefined {
    return this.routeOverrides.size === 0 ? undefined : this.routeOverrides.get(route);
  }

  get tenantOverrideCount(): number {
    return this.tenantOverrides.size;
  }

  get routeOverrideCount(): number {
    return this.routeOverrides.size;
  }

  private match(index: BlockIndex, value: string, upgrade: boolean): Block | null {
    if (index.size === 0) return null;
    let b = index.all.get(value);
    if (b !== undefined && live(b, this.now())) return b;
    if (!upgrade) return null;
    b = index.ws.get(value);
    return b !== undefined && live(b, this.now()) ? b : null;
  }

  private matchIp(ip: string, upgrade: boolean): Block | null {
    if (!inList(this.ipAny!, ip)) return null;
    // A hit: find which block (the rare path, a refusal follows), preferring one that refuses everything.
    const now = this.now();
    let found: Block | null = null;
    for (const { block, list } of this.ips) {
      if (!live(block, now) || (block.websocketsOnly && !upgrade) || !inList(list, ip)) continue;
      if (!block.websocketsOnly) return block;
      found ??= block;
    }
    return found;
  }

  private rebuild(): void {
    for (const ix of [this.clients, this.sessions, this.tenants, this.routes]) {
      ix.all.clear();
      ix.ws.clear();
    }
    this.ips = [];
    this.globalMode = null;
    this.tenantModes.clear();
    this.tenantOverrides.clear();
    this.routeOverrides.clear();
    let blocks = 0;
    let maintenance = false;
    for (const e of this.entries.values()) {
      if (e.type === 'block') {
        blocks++;
        if (e.kind === 'client') this.clients.add(e);
        else if (e.kind === 'session') this.sessions.add(e);
        else if (e.kind === 'tenant') this.tenants.add(e);
        else if (e.kind === 'route') this.routes.add(e);
        else this.ips.push({ block: e, list: addAddressBlock(new BlockList(), e.value) });
      } else if (e.type === 'mode') {
        if (e.mode === 'maintenance') maintenance = true;
        if (e.tenant === null) this.globalMode = e;
        else this.tenantModes.set(e.tenant, e);
      } else {
        (e.scope === 'tenant' ? this.tenantOverrides : this.routeOverrides).set(e.name, e);
      }
    }
    if (this.ips.length === 0) this.ipAny = null;
    else {
      const any = new BlockList();
      for (const { block } of this.ips) addAddressBlock(any, block.value);
      this.ipAny = any;
    }
    this.blockCount = blocks;
    this.quiet = blocks === 0 && !maintenance;
    this.generation++;
  }
}

function live(b: Block, now: number): boolean {
  return b.expiresAt === null || b.expiresAt > now;
}

function outlasts(a: Block, b: Block): boolean {
  if (b.expiresAt === null) return false;
  return a.expiresAt === null || a.expiresAt > b.expiresAt;
}
