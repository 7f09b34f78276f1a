/**
 * The status JSON that the waiting page polls at `/__anteroom/status`, and how the page asks for it.
 *
 * The page sends its ticket as the `ticket` query parameter (an `HttpOnly` ticket cookie cannot be read by
 * the page's script, and a query parameter needs no CORS preflight). The answer that says `admitted` is
 * the one that sets the admission cookie; the page then goes to the original URL with `location.replace`.
 */

import type { LoadView } from '../../control/controlPlane.js';

/** Where a ticket stands. `unknown`: no such ticket (expired, forged, or the room forgot it). */
export type RoomState = 'waiting' | 'admitted' | 'full' | 'maintenance' | 'unknown';

/** The body of `GET /__anteroom/status` (JSON), as the waiting page reads it. */
export interface RoomStatus {
  state: RoomState;
  /** Place in line, 1 = next; null when not waiting or not known. */
  position: number | null;
  /** Wait estimate in seconds as a range, from the measured admission rate; null when it cannot be measured. */
  etaSeconds: { low: number; high: number } | null;
  /** When to ask again. The page adds ±20% jitter so that a crowd does not poll in step. */
  pollAfterMs: number;
  /** A renewed ticket; the page uses it for the following polls. */
  ticket?: string;
  /** The tenant's message (plain text: the page sets it as text, never as HTML). */
  message?: string;
  /** How the upstream is doing: its controller's state, the limit in force and every signal. */
  load?: LoadView;
}

/** The status endpoint's path on the public port (fixed by the contract in DESIGN.md). */
export const STATUS_PATH = '/__anteroom/status';

/** The query parameter that carries the ticket to the status endpoint. */
export const STATUS_TICKET_PARAM = 'ticket';

/**
 * A query parameter (`join=1`) on the status path of the "full" page, which has no ticket yet: its polls
 * ask for a place, and get one (a ticket, or admission) as soon as the room has room. Without it a poll
 * that has no ticket is answered `unknown`, so a probe of the endpoint never takes a place.
 */
export const STATUS_JOIN_PARAM = 'join';

/**
 * A query parameter (`wait=1`) with which the waiting page's script asks for its polls to be held near
 * the front until the place is admitted (a long poll). Polls without it are answered at once.
 */
export const STATUS_WAIT_PARAM = 'wait';

/** The status URL for a ticket: `base` (a local path) with the ticket query parameter appended. */
export function statusUrlFor(ticket: string, base: string = STATUS_PATH): string {
  const sep = base.includes('?') ? '&' : '?';
  return `${base}${sep}${STATUS_TICKET_PARAM}=${encodeURIComponent(ticket)}`;
}
