/**
 * Closing the open websockets of a block made with `closeWebsockets`, without causing the storm the
 * block is meant to stop (incident 000: reconnects amplified into a denial of service). The sockets
 * are closed in batches (`controls.closeWebsockets.batchSize` every `intervalMs`), each with 1013
 * "try again later" and a JSON reason whose `retryAfterMs` carries its own jitter, so that clients
 * that obey it come back spread out; those that do not are refused by the guard anyway.
 *
 * Every instance closes its own sockets when it learns of the block (by its own command or from
 * Redis). A socket whose handshake was under way when the block arrived is closed as it opens.
 */
import { BlockList } from 'node:net';
import type { Logger } from 'pino';
import type { OpenWebsocket, WebsocketRegistry } from '../proxy/websocketRegistry.js';
import { TRY_AGAIN_LATER } from '../respond/websocketRefusal.js';
import { addAddressBlock, inList } from './addressBlock.js';
import type { Controls } from './controls.js';
import type { ControlsConfig } from './schema.js';
import type { Block } from './model.js';

/** A hint is never longer than a day, whatever the block's TTL. */
const MAX_HINT_MS = 86_400_000;

export interface SocketCloserOptions {
  registry: WebsocketRegistry;
  controls: Controls;
  settings: () => ControlsConfig['closeWebsockets'];
  /** The session keys in a Cookie header (IdentityResolver.sessionKeys), to match session blocks. */
  sessionKeys: (cookie: string | undefined) => string[];
  log: Logger;
  random?: () => number;
  now?: () => number;
}

export class SocketCloser {
  private readonly o: SocketCloserOptions;
  private readonly random: () => number;
  private readonly now: () => number;
  /** Blocks whose sockets have been (or are being) closed here. */
  private readonly handled = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(options: SocketCloserOptions) {
    this.o = options;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    options.registry.onOpen = (ws) => this.opened(ws);
    options.controls.onChange(() => this.review());
  }

  /** After every change: closes the sockets of each block with `closeWebsockets` not handled yet. */
  review(): void {
    const blocks = this.o.controls.state.blocks().filter((b) => b.closeWebsockets);
    const ids = new Set(blocks.map((b) => b.id));
    for (const id of this.handled) if (!ids.has(id)) this.handled.delete(id);
    const fresh = blocks.filter((b) => !this.handled.has(b.id));
    if (fresh.length === 0) return;
    for (const b of fresh) this.handled.add(b.id);
    const matchers = fresh.map((b) => ({ block: b, matches: matcher(b, this.o.sessionKeys) }));
    const victims: { ws: OpenWebsocket; block: Block }[] = [];
    for (const ws of this.o.registry.all()) {
      if (ws.closing) continue;
      const m = matchers.find((x) => x.matches(ws));
      if (m !== undefined) victims.push({ ws, block: m.block });
    }
    if (victims.length === 0) return;
    const { batchSize, intervalMs } = this.o.settings();
    this.o.log.info({ blocks: fresh.map((b) => b.id), sockets: victims.length, batchSize, intervalMs }, 'controls: closing the websockets of a block');
    this.inBatches(victims, batchSize, intervalMs);
  }

  /** A socket that opened while a block that refuses it was in force (its upgrade passed the guard just before). */
  private opened(ws: OpenWebsocket): void {
    const state = this.o.controls.state;
    if (state.quiet) return;
    let block = state.blockFor(ws, true);
    if (block === null && state.sessionBlocks > 0) {
      for (const key of this.o.sessionKeys(ws.cookie)) {
        block = state.sessionBlock(key, true);
        if (block !== null) break;
      }
    }
    if (block !== null) void this.o.registry.close(ws, TRY_AGAIN_LATER, this.reason(block));
  }

  private inBatches(victims: { ws: OpenWebsocket; block: Block }[], batchSize: number, intervalMs: number): void {
    let next = 0;
    const step = (): void => {
      const end = Math.min(victims.length, next + batchSize);
      for (; next < end; next++) {
        const { ws, block } = victims[next]!;
        if (!ws.closing) void this.o.registry.close(ws, TRY_AGAIN_LATER, this.reason(block));
      }
      if (next < victims.length) {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          step();
        }, intervalMs);
        this.timers.add(timer);
      }
    };
    step();
  }

  /** `{"code":"ANT_BLOCKED","retryAfterMs":N}`, N from blockRetryMs. */
  private reason(block: Block): string {
    return JSON.stringify({ code: 'ANT_BLOCKED', retryAfterMs: blockRetryMs(block, this.o.settings().retryAfterMs, this.now(), this.random()) });
  }

  /** Stops closing (shutdown closes what is left with 1001). */
  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/**
 * The retry hint for a blocked websocket: the block's time left (or `fallbackMs` for a block without
 * a TTL), plus up to half of it at random so that the clients that obey come back spread out.
 */
export function blockRetryMs(block: Block, fallbackMs: number, now: number = Date.now(), random: number = Math.random()): number {
  const base = Math.min(MAX_HINT_MS, block.expiresAt === null ? fallbackMs : Math.max(0, block.expiresAt - now));
  return Math.round(base + random * base * 0.5);
}

/** Whether an open socket is one a block names. */
function matcher(b: Block, sessionKeys: (cookie: string | undefined) => string[]): (ws: OpenWebsocket) => boolean {
  switch (b.kind) {
    case 'client':
      return (ws) => ws.clientKey === b.value;
    case 'tenant':
      return (ws) => ws.tenant === b.value;
    case 'route':
      return (ws) => ws.routeName === b.value;
    case 'session':
      return (ws) => ws.clientKey === b.value || sessionKeys(ws.cookie).includes(b.value);
    case 'ip': {
      const list = addAddressBlock(new BlockList(), b.value);
      return (ws) => inList(list, ws.clientIp);
    }
  }
}
