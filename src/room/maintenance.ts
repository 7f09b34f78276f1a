/**
 * The answers of an operator's maintenance mode (the guard gives them): the upstream gets nothing,
 * every client is told so in the form it reads, and nobody loses a place in line. The room admits
 * nobody of the tenant meanwhile (RoomSwitches.paused), and the waiting page's status polls, which
 * keep places alive, say `maintenance`.
 *
 * - A browser navigation gets the waiting page in its maintenance state, with the operator's message.
 *   With a ticket its place is found and renewed; without one the page asks for a place with its
 *   first status poll, so people who wait through the maintenance are let in in the order they came
 *   when it ends (gradually, at the room's outflow, rather than as a herd: incident 004).
 * - An API request gets 503 ANT_MAINTENANCE with Retry-After; one with a ticket keeps its place and
 *   gets the renewed ticket back, like a held request whose hold ran out.
 * - A websocket upgrade is refused like any other (1013 with `retryAfterMs`, or 503).
 */
import { readCookie } from '../identity/cookies.js';
import { jitteredRetryAfterSeconds } from '../limits/rateLimitHeaders.js';
import type { RequestContext } from '../pipeline/context.js';
import { ANSWERED, type PhaseOutcome } from '../pipeline/phase.js';
import { refuse } from '../respond/answer.js';
import { refuseUpgrade } from '../respond/websocketRefusal.js';
import { TICKET_HEADER, ticketCookie, waitingPage } from './respond.js';
import type { JoinResult } from './room.js';

/** Retry-After for those without a place: no place to lose, so no need to come back often. */
const NO_PLACE_RETRY_MS = 30_000;

export function maintenanceAnswer(ctx: RequestContext, message: string): PhaseOutcome | Promise<PhaseOutcome> {
  const room = ctx.rt.room;
  const detail = message === '' ? 'The site is down for maintenance. Try again later.' : `The site is down for maintenance: ${message}`;
  if (ctx.isUpgrade) {
    const seconds = jitteredRetryAfterSeconds(NO_PLACE_RETRY_MS);
    return refuseUpgrade(ctx, 'ANT_MAINTENANCE', detail, seconds * 1000, ctx.rt.config.limits.websocket.refuseWith, seconds);
  }
  const cookies = ctx.req.headers.cookie;
  const fromCookie = readCookie(cookies, room.config.cookies.ticket);
  const header = ctx.req.headers[TICKET_HEADER];
  const ticket = ctx.browser ? fromCookie : typeof header === 'string' && header !== '' ? header : fromCookie;
  if (ticket === undefined) {
    if (ctx.browser) return waitingPage(ctx, room, '', '', 'maintenance');
    const seconds = jitteredRetryAfterSeconds(NO_PLACE_RETRY_MS);
    return refuse(ctx, 'ANT_MAINTENANCE', detail, { 'retry-after': String(seconds) });
  }
  const kind = ctx.browser ? 'browser' : 'api';
  const entered = room.enter(ctx.tenant, ctx.requestClass, ctx.clientKey, kind, ticket, ctx.id);
  const answer = (r: JoinResult): PhaseOutcome => {
    if (ctx.socketClosed) return ANSWERED;
    if (ctx.browser) {
      if (r.kind === 'queued') return waitingPage(ctx, room, r.id, r.ticket, 'maintenance');
      // Full, or let in just before the maintenance began (that admission is used up): the page's
      // polls take a place.
      return waitingPage(ctx, room, '', '', 'maintenance');
    }
    if (r.kind !== 'queued') {
      const seconds = jitteredRetryAfterSeconds(NO_PLACE_RETRY_MS);
      return refuse(ctx, 'ANT_MAINTENANCE', detail, { 'retry-after': String(seconds) });
    }
    const position = room.position(r.id);
    const seconds = room.retryAfterSeconds(position);
    return refuse(
      ctx,
      'ANT_MAINTENANCE',
      `${detail} Your place is kept (position ${position ?? 'unknown'}): retry after ${seconds} s with the ${TICKET_HEADER} header.`,
      { 'retry-after': String(seconds), [TICKET_HEADER]: r.ticket, 'set-cookie': ticketCookie(room, r.ticket) },
      { position, ticket: r.ticket },
    );
  };
  return entered instanceof Promise ? entered.then(answer) : answer(entered);
}
