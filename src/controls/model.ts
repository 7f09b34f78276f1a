/**
 * The runtime switches an operator sets without a deploy (DESIGN: "An operator can stop a client,
 * tenant or route in under a second, without a deploy, and undo it"): blocks, room modes and limit
 * overrides. Each is one entry under a stable key; the memory and Redis backends store entries as
 * they are, and the schema below reads them back (a Redis shared with another version, or edited by
 * hand, must not crash an instance: an entry it cannot read is skipped and logged).
 */
import { z } from 'zod';

export const BLOCK_KINDS = ['client', 'session', 'ip', 'tenant', 'route'] as const;
/**
 * - `client`: a client key as anteroom logs it (`s:<hash>`, `k:<hash>`, `j:<sub>`, `ip:<address>`);
 * - `session`: a session cookie (any cookie named in `identity.client`), stored as its hashed key;
 * - `ip`: an address or a CIDR block, matched against the client address;
 * - `tenant`: a tenant id; `route`: a route name (`default` for requests no rule matches).
 */
export type BlockKind = (typeof BLOCK_KINDS)[number];

export const ROOM_MODES = ['auto', 'open', 'queue-all', 'maintenance', 'pause'] as const;
/**
 * `auto`, `open`, `queue-all` as in `room.mode`; `maintenance`: everyone gets the waiting page with
 * the operator's message (APIs 503, upgrades 1013), nobody is admitted, places are kept; `pause`:
 * nobody is admitted from the queue and newcomers queue, places are kept, admitted sessions go on.
 */
export type RoomMode = (typeof ROOM_MODES)[number];

export interface Block {
  readonly type: 'block';
  readonly id: string;
  readonly kind: BlockKind;
  /** The client key, session key (`s:<hash>`), address or CIDR, tenant id or route name. */
  readonly value: string;
  /** Why, for operators (logged, listed); never sent to the client. */
  readonly reason: string;
  /** Text for the blocked client, in the refusal; a generic sentence when absent. */
  readonly message?: string | undefined;
  /** Only websocket upgrades are refused (the "websockets off" switch); plain HTTP goes on. */
  readonly websocketsOnly: boolean;
  /** Also close the matching websockets already open (with 1013, in staggered batches). */
  readonly closeWebsockets: boolean;
  /** ms since the epoch. */
  readonly createdAt: number;
  /** ms since the epoch; null: until removed. */
  readonly expiresAt: number | null;
}

export interface ModeSetting {
  readonly type: 'mode';
  /** null: the global mode (every tenant without one of its own). */
  readonly tenant: string | null;
  readonly mode: RoomMode;
  /** Shown on the maintenance page and in its 503s. */
  readonly message?: string | undefined;
  readonly reason?: string | undefined;
  readonly setAt: number;
}

export interface LimitOverride {
  readonly type: 'override';
  readonly scope: 'tenant' | 'route';
  /** Tenant id or route name. */
  readonly name: string;
  /** Tokens per second: the tenant's bucket, or the per-client bucket of the route. */
  readonly rate?: number | undefined;
  readonly burst?: number | undefined;
  /** Most in flight at once: the tenant's or the route's concurrency cap. */
  readonly concurrency?: number | undefined;
  readonly reason?: string | undefined;
  readonly setAt: number;
}

export type ControlEntry = Block | ModeSetting | LimitOverride;

/** The key an entry is stored under: one block per id, one mode per tenant (or global), one override per target. */
export function entryKey(e: ControlEntry): string {
  switch (e.type) {
    case 'block':
      return `b:${e.id}`;
    case 'mode':
      return e.tenant === null ? 'm:*' : `m:t:${e.tenant}`;
    case 'override':
      return `o:${e.scope === 'tenant' ? 't' : 'r'}:${e.name}`;
  }
}

const text = (max: number) => z.string().max(max);
const epochMs = z.number().int().min(0);

const storedBlock = z.object({
  type: z.literal('block'),
  id: z.string().min(1).max(64),
  kind: z.enum(BLOCK_KINDS),
  value: z.string().min(1).max(512),
  reason: text(1000),
  message: text(1000).optional(),
  websocketsOnly: z.boolean(),
  closeWebsockets: z.boolean(),
  createdAt: epochMs,
  expiresAt: epochMs.nullable(),
});

const storedMode = z.object({
  type: z.literal('mode'),
  tenant: z.string().min(1).max(64).nullable(),
  mode: z.enum(ROOM_MODES),
  message: text(1000).optional(),
  reason: text(1000).optional(),
  setAt: epochMs,
});

const storedOverride = z.object({
  type: z.literal('override'),
  scope: z.enum(['tenant', 'route']),
  name: z.string().min(1).max(64),
  rate: z.number().positive().optional(),
  burst: z.int().min(1).optional(),
  concurrency: z.int().min(1).optional(),
  reason: text(1000).optional(),
  setAt: epochMs,
});

const storedEntry = z.discriminatedUnion('type', [storedBlock, storedMode, storedOverride]);

/** Reads one stored entry; null (with what is wrong) when it is not one this version understands. */
export function parseEntry(json: string): { entry: ControlEntry } | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
  const parsed = storedEntry.safeParse(raw);
  if (!parsed.success) return { error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  return { entry: parsed.data as ControlEntry };
}
