/** One place in the waiting room. */
import type { RoomClass } from './classes.js';
import type { Liveness } from './abandonment.js';

export type WaiterKind = 'browser' | 'api' | 'websocket';

export interface WaiterInit {
  /** Unique among the waiters of this queue. */
  id: string;
  tenant: string;
  cls: RoomClass;
  /** The place (see sequence.ts); a restored ticket brings its old one. */
  seq: number;
  /** ms, the queue's clock. */
  enqueuedAt: number;
  kind: WaiterKind;
}

/** A waiter in the queue, or one just returned by `next()`. */
export class Waiter implements Liveness {
  readonly id: string;
  readonly tenant: string;
  readonly cls: RoomClass;
  readonly seq: number;
  readonly enqueuedAt: number;
  readonly kind: WaiterKind;
  lastSeen: number;
  pinned = false;

  constructor(init: WaiterInit, now: number) {
    this.id = init.id;
    this.tenant = init.tenant;
    this.cls = init.cls;
    this.seq = init.seq;
    this.enqueuedAt = init.enqueuedAt;
    this.kind = init.kind;
    this.lastSeen = now;
  }
}
