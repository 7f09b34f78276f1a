/**
 * admit: go now, wait, or be told to come back.
 *
 * - A client with a valid admission session goes on (renewing the cookie when due); it only waits
 *   briefly for a concurrency slot, never in the room again.
 * - A newcomer goes on while the room is not engaged and the upstream is below the room's limit;
 *   a browser let in this way gets a session, so its next clicks are not queued if the room engages.
 * - Otherwise it takes a place in the room: a browser gets the waiting page; an API request or a
 *   websocket upgrade is held in memory and goes through untouched if admitted in time, or gets 503
 *   (1013 for websockets) with its ticket, which keeps its place on retry.
 *
 * Concurrency caps per upstream, route and tenant bound what the upstream sees in flight (incident
 * 001: one account's automation took every worker); a request over a cap waits in a bounded FIFO.
 * Bypass routes take no slot; websocket upgrades take none once they are let in.
 */
import { performance } from 'node:perf_hooks';
import { classAction } from '../control/shedPolicy.js';
import { readCookie } from '../identity/cookies.js';
import type { Claim, ConcurrencyGate } from '../limits/concurrencyGate.js';
import { jitteredRetryAfterSeconds } from '../limits/rateLimitHeaders.js';
import { refuse } from '../respond/answer.js';
import { refuseUpgrade } from '../respond/websocketRefusal.js';
import { holdExpired, sessionCookie, statusAnswer, TICKET_HEADER, ticketCookie, waitingPage, clearTicketCookie } from '../room/respond.js';
import { STATUS_TICKET_PARAM } from '../room/page/index.js';
import type { JoinResult } from '../room/room.js';
import type { WaiterKind } from '../room/waiter.js';
import type { RequestContext } from './context.js';
import { ANSWERED, NEXT, type Phase, type PhaseOutcome } from './phase.js';

export const admit: Phase = {
  name: 'admit',
  run(ctx: RequestContext) {
    const room = ctx.rt.room;
    if (ctx.statusPoll) return statusAnswer(ctx, room, statusTicket(ctx));
    if (ctx.bypass) {
      ctx.decision = 'bypass';
      return NEXT;
    }
    // What the upstream's controller says for this class (control/shedPolicy.ts): under shedding the
    // bulk class is refused whatever it holds, critical skips the room but not the limit in force.
    const upstream = ctx.upstream!.name;
    const state = ctx.rt.control.state(upstream);
    const action = classAction(state, ctx.requestClass);
    if (action === 'refuse') return shed(ctx, upstream);
    ctx.decision = 'forward';
    // An operator's runtime mode (the tenant's, else the global one) wins over the config's.
    const mode = ctx.rt.controls.roomMode(ctx.tenant, room.config.mode);
    if (mode === 'open') return slot(ctx);
    const cookies = ctx.req.headers.cookie;
    const session = room.checkSession(readCookie(cookies, room.config.cookies.session), ctx.tenant, ctx.clientKey);
    if (session !== null) {
      if (session.renewed !== null) addCookie(ctx, sessionCookie(room, session.renewed));
      return slot(ctx);
    }
    if (state === 'shedding' && action === 'admit') return slot(ctx);
    const ticket = ctx.isUpgrade || ctx.browser ? readCookie(cookies, room.config.cookies.ticket) : (header(ctx, TICKET_HEADER) ?? readCookie(cookies, room.config.cookies.ticket));
    // A newcomer goes straight on only while the upstream's controller is open, nobody waits and
    // there is room; once the controller engages, everyone new takes a place in line.
    if (ticket === undefined && action === 'admit' && !room.engaged(mode) && room.canStartSession(ctx.tenant) && room.hasRoom()) {
      if (ctx.browser) addCookie(ctx, sessionCookie(room, room.issueSession(ctx.tenant, ctx.clientKey)));
      return slot(ctx);
    }
    return wait(ctx, ticket);
  },
};

/** Shedding: the bulk class is refused with 503 and Retry-After until the upstream recovers. */
function shed(ctx: RequestContext, upstream: string): PhaseOutcome {
  // Shedding ends only after release.forS of calm, so an earlier retry would only be shed again.
  const releaseS = ctx.rt.config.control.upstreams[upstream]?.release.forS ?? 30;
  const seconds = jitteredRetryAfterSeconds(Math.max(1, releaseS) * 1000);
  ctx.refusalSource = `control.upstreams.${upstream}.shed`;
  const detail = `The upstream is overloaded and ${ctx.requestClass} requests are shed until it recovers. Retry after ${seconds} s.`;
  if (ctx.isUpgrade) return refuseUpgrade(ctx, 'ANT_SHED', detail, seconds * 1000, ctx.rt.config.limits.websocket.refuseWith, seconds);
  return refuse(ctx, 'ANT_SHED', detail, { 'retry-after': String(seconds) });
}

/** Takes a place in the room (or finds the one the ticket names). */
function wait(ctx: RequestContext, ticket: string | undefined): PhaseOutcome | Promise<PhaseOutcome> {
  const room = ctx.rt.room;
  const kind = ctx.isUpgrade ? 'websocket' : ctx.browser ? 'browser' : 'api';
  const r = room.enter(ctx.tenant, ctx.requestClass, ctx.clientKey, kind, ticket, ctx.id);
  if (!(r instanceof Promise)) return joined(ctx, r, kind, ticket);
  // A shared room (Redis) answers asynchronously; a client gone meanwhile gives its place up at once.
  return r.then((j) => {
    if (!ctx.socketClosed) return joined(ctx, j, kind, ticket);
    if (j.kind === 'queued') room.leave(j.id);
    return ANSWERED;
  });
}

/** What follows taking a place: let in now, the waiting page, or a hold. */
function joined(ctx: RequestContext, r: JoinResult, kind: WaiterKind, ticket: string | undefined): PhaseOutcome | Promise<PhaseOutcome> {
  const room = ctx.rt.room;
  if (r.kind === 'full') {
    const seconds = room.retryAfterSeconds(null);
    if (kind === 'browser') return waitingPage(ctx, room, '', '', 'full');
    return refuse(ctx, 'ANT_QUEUE_FULL', `The waiting room is full. Retry after ${seconds} s.`, { 'retry-after': String(seconds) });
  }
  if (r.kind === 'admitted') {
    ctx.rt.stats.roomWaited(kind, true, r.id);
    if (kind === 'browser') addCookie(ctx, sessionCookie(room, room.issueSession(ctx.tenant, ctx.clientKey)));
    if (ticket !== undefined) addCookie(ctx, clearTicketCookie(room));
    return slot(ctx);
  }
  if (kind === 'browser') return waitingPage(ctx, room, r.id, r.ticket);
  const claim = claimFor(ctx);
  const holdMs = kind === 'websocket' ? room.config.hold.websocketMs : room.config.hold.apiMs;
  ctx.roomHeld = r.id;
  return new Promise<PhaseOutcome>((resolve) => {
    room.hold(r.id, claim, holdMs, (admitted) => {
      ctx.roomHeld = null;
      ctx.rt.stats.roomWaited(kind, admitted, r.id);
      if (admitted) {
        if (ctx.socketClosed) {
          ctx.rt.limits.gate.release(claim);
          return resolve(ANSWERED);
        }
        if (kind === 'websocket') {
          // The slot was only its turn to be let in: like an upgrade let in at once, an open websocket
          // holds none, or each one admitted from the room would keep an upstream slot for its whole
          // life. Released after this turn of the pump, which is admitting it, so a run of upgrades
          // does not nest pump calls (release -> pump -> admit -> release ...).
          queueMicrotask(() => ctx.rt.limits.gate.release(claim));
          return resolve(NEXT);
        }
        ctx.slot = claim;
        return resolve(NEXT);
      }
      if (ctx.socketClosed) return resolve(ANSWERED);
      if (kind === 'api') return resolve(holdExpired(ctx, room, r.id, r.ticket));
      const position = room.position(r.id);
      const seconds = room.retryAfterSeconds(position);
      ctx.decision = 'queue';
      // The ticket travels as a cookie on the handshake: a close reason has room for 123 bytes only.
      resolve(
        refuseUpgrade(ctx, 'ANT_QUEUE_TIMEOUT', `Waiting at position ${position ?? 'unknown'}.`, seconds * 1000, ctx.rt.config.limits.websocket.refuseWith, seconds, [
          `set-cookie: ${ticketCookie(room, r.ticket)}`,
          `${TICKET_HEADER}: ${r.ticket}`,
        ]),
      );
    });
  });
}

/** The concurrency slots this request needs: upstream (its limit in force, kept by the gate), route and tenant. */
function claimFor(ctx: RequestContext): Claim {
  const rt = ctx.rt;
  const upstream = ctx.upstream!;
  return {
    upstream: upstream.name,
    tenant: ctx.tenant,
    tenantCap: rt.limits.plan.tenantPlan(ctx.tenant).concurrency,
    route: ctx.routeName,
    routeCap: ctx.routeConcurrency,
  };
}

/** Goes on once a concurrency slot is free: at once, or after a short FIFO wait, else 503. */
function slot(ctx: RequestContext): PhaseOutcome | Promise<PhaseOutcome> {
  if (ctx.isUpgrade) return NEXT;
  const rt = ctx.rt;
  const claim = claimFor(ctx);
  const gate = rt.limits.gate;
  if (gate.upstreamLimit(claim.upstream) === Infinity && claim.tenantCap === Infinity && claim.routeCap === Infinity) return NEXT;
  if (gate.tryAcquire(claim)) {
    ctx.slot = claim;
    return NEXT;
  }
  const { timeoutMs, maxWaiting } = rt.config.limits.wait;
  const since = performance.now();
  return new Promise<PhaseOutcome>((resolve) => {
    ctx.waiter = gate.wait(claim, timeoutMs, maxWaiting, (admitted) => {
      ctx.waiter = null;
      // A client that went away did not time out: its wait is left out.
      if (admitted || !ctx.socketClosed) rt.stats.gateWaited(admitted, performance.now() - since);
      if (admitted) {
        // The client may have gone while it waited; finish() has run and will not release for it.
        if (ctx.socketClosed) {
          gate.release(claim);
          resolve(ANSWERED);
        } else {
          ctx.slot = claim;
          resolve(NEXT);
        }
        return;
      }
      if (ctx.socketClosed) return resolve(ANSWERED);
      const seconds = jitteredRetryAfterSeconds(1_000);
      ctx.refusalSource = capSource(ctx, claim, gate);
      resolve(refuse(ctx, 'ANT_CAPACITY', `The upstream is at capacity and no slot freed within ${timeoutMs} ms. Retry after ${seconds} s.`, { 'retry-after': String(seconds) }));
    });
    if (ctx.waiter === null) {
      const seconds = jitteredRetryAfterSeconds(1_000);
      resolve(refuse(ctx, 'ANT_QUEUE_FULL', `${maxWaiting} requests are already waiting for the upstream. Retry after ${seconds} s.`, { 'retry-after': String(seconds) }));
    }
  });
}

/** The config entry whose cap kept the request waiting, for the log line. */
function capSource(ctx: RequestContext, c: Claim, gate: ConcurrencyGate): string {
  if (gate.inFlight(c.upstream) >= gate.upstreamLimit(c.upstream)) {
    const rt = ctx.rt;
    if (rt.controllers.has(c.upstream)) return `control.upstreams.${c.upstream}.limit`;
    return c.upstream === rt.room.upstream && rt.config.room.concurrency !== undefined ? 'room.concurrency' : `upstreams.${c.upstream}.concurrency`;
  }
  if (gate.routeInFlight(c.route) >= c.routeCap) return `routes[${c.route}].limits.concurrency`;
  return ctx.rt.config.limits.tenants[c.tenant]?.concurrency !== undefined ? `limits.tenants.${c.tenant}.concurrency` : 'limits.tenant.concurrency';
}

function addCookie(ctx: RequestContext, value: string): void {
  (ctx.setCookies ??= []).push(value);
}

function header(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function statusTicket(ctx: RequestContext): string | undefined {
  const q = ctx.url.indexOf('?');
  if (q !== -1) {
    const fromQuery = new URLSearchParams(ctx.url.slice(q + 1)).get(STATUS_TICKET_PARAM);
    if (fromQuery) return fromQuery;
  }
  return header(ctx, TICKET_HEADER) ?? readCookie(ctx.req.headers.cookie, ctx.rt.room.config.cookies.ticket);
}
