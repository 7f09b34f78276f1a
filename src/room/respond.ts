/**
 * What the room sends: the waiting page for a browser, 503 with a ticket for a program whose hold ran
 * out, the status JSON the waiting page polls, and the cookies that carry tickets and sessions.
 */
import type { RequestContext } from '../pipeline/context.js';
import { ANSWERED, type PhaseOutcome } from '../pipeline/phase.js';
import { refuse, send } from '../respond/answer.js';
import { renderWaitingPage, STATUS_JOIN_PARAM, STATUS_PATH, STATUS_WAIT_PARAM, WAITING_PAGE_CSP, type RoomStatus } from './page/index.js';
import type { Room, RoomStatusAnswer } from './room.js';

/** The response header (and request header) that carries a ticket for programs. */
export const TICKET_HEADER = 'anteroom-ticket';

export function cookie(room: Room, name: string, value: string, maxAgeS: number): string {
  const secure = room.config.cookies.secure ? '; Secure' : '';
  return `${name}=${value}; Path=/; Max-Age=${maxAgeS}; HttpOnly; SameSite=Lax${secure}`;
}

export function ticketCookie(room: Room, ticket: string): string {
  return cookie(room, room.config.cookies.ticket, ticket, room.config.ticketTtlS);
}

export function sessionCookie(room: Room, session: string): string {
  return cookie(room, room.config.cookies.session, session, room.config.sessionTtlS);
}

export function clearTicketCookie(room: Room): string {
  return cookie(room, room.config.cookies.ticket, '', 0);
}

export function messageFor(room: Room, tenant: string): string | undefined {
  return room.config.messages[tenant] ?? room.config.messages['default'];
}

function eta(room: Room, position: number | null): { low: number; high: number } | null {
  const e = room.estimate(position);
  return e === null ? null : { low: e.lowS, high: e.highS };
}

/**
 * The waiting page (503: the resource is not available to this client yet), with the ticket cookie.
 * `maintenance`: an operator's maintenance mode, with the operator's message; the place is kept.
 */
export function waitingPage(ctx: RequestContext, room: Room, id: string, ticket: string, state: 'waiting' | 'full' | 'maintenance' = 'waiting'): PhaseOutcome {
  const position = state === 'full' || id === '' ? null : room.position(id);
  const maintenance = state === 'maintenance' ? room.switches?.maintenance(ctx.tenant) : null;
  const html = renderWaitingPage(
    {
      position,
      // Nobody is let in during maintenance: an estimate from the admission rate would be a false promise.
      etaSeconds: state === 'maintenance' ? null : eta(room, position),
      ticket,
      originalUrl: ctx.url,
      pollAfterMs: room.pollAfterMs(position),
      message: maintenance || messageFor(room, ctx.tenant),
      acceptLanguage: headerText(ctx.req.headers['accept-language']),
      state,
      // A page without a place yet (full, or maintenance for a newcomer) asks for one with its polls (see
      // STATUS_JOIN_PARAM). Without this they were answered `unknown`, and the page said the place was
      // lost instead of "we keep trying".
      // Its script's polls ask to be held near the front until admitted (STATUS_WAIT_PARAM).
      statusPath: ticket === '' ? `${STATUS_PATH}?${STATUS_JOIN_PARAM}=1&${STATUS_WAIT_PARAM}=1` : `${STATUS_PATH}?${STATUS_WAIT_PARAM}=1`,
    },
    room.template,
  );
  ctx.decision = 'queue';
  ctx.refusal = state === 'full' ? 'ANT_QUEUE_FULL' : state === 'maintenance' ? 'ANT_MAINTENANCE' : 'ANT_QUEUED';
  ctx.refusalDetail = state === 'full' ? 'waiting room full' : `${state === 'maintenance' ? 'maintenance, ' : ''}waiting at position ${position ?? 'unknown'}`;
  send(ctx, 503, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': WAITING_PAGE_CSP,
    'retry-after': String(room.retryAfterSeconds(position)),
    ...(ticket !== '' ? { 'set-cookie': ticketCookie(room, ticket) } : {}),
  }, html);
  return ANSWERED;
}

/** A held request whose hold ran out: 503 with its place, an estimate and the ticket that keeps it. */
export function holdExpired(ctx: RequestContext, room: Room, id: string, ticket: string): PhaseOutcome {
  const position = room.position(id);
  const e = eta(room, position);
  const seconds = room.retryAfterSeconds(position);
  refuse(
    ctx,
    'ANT_QUEUE_TIMEOUT',
    `Waiting at position ${position ?? 'unknown'}. Retry after ${seconds} s with the ${TICKET_HEADER} header to keep your place.`,
    { 'retry-after': String(seconds), [TICKET_HEADER]: ticket, 'set-cookie': ticketCookie(room, ticket) },
    { position, etaSeconds: e === null ? null : Math.round((e.low + e.high) / 2), ticket },
  );
  ctx.decision = 'queue';
  return ANSWERED;
}

/** `GET /__anteroom/status`: where the caller's ticket stands. Admission sets the session cookie. */
export function statusAnswer(ctx: RequestContext, room: Room, token: string | undefined): PhaseOutcome | Promise<PhaseOutcome> {
  ctx.decision = 'own';
  const newcomer = token === undefined && queryFlag(ctx.url, STATUS_JOIN_PARAM) ? { tenant: ctx.tenant, cls: ctx.requestClass } : null;
  const wait = queryFlag(ctx.url, STATUS_WAIT_PARAM);
  const polled = room.poll(token, ctx.clientKey, ctx.id, newcomer);
  const answer = (st: RoomStatusAnswer): PhaseOutcome | Promise<PhaseOutcome> => (wait && heldHere(room, st) ? holdPoll(ctx, room, st) : statusReply(ctx, room, st));
  return polled instanceof Promise ? polled.then(answer) : answer(polled);
}

/** A place near the front, not in maintenance: its poll waits for the admission instead of coming back. */
function heldHere(room: Room, st: RoomStatusAnswer): boolean {
  if (st.state !== 'waiting' || st.ticket === null || room.switches?.maintenance(st.tenant) != null) return false;
  const position = room.position(st.id);
  return position !== null && room.holdsPoll(position);
}

/**
 * Holds a status poll near the front until its place is admitted (answered at once, so the browser
 * collects its admission within a round trip and the capacity kept for it is not left idle) or until
 * `pollHoldMs`, when it is answered `waiting` with a renewed ticket. A client gone meanwhile ends it.
 */
async function holdPoll(ctx: RequestContext, room: Room, first: RoomStatusAnswer): Promise<PhaseOutcome> {
  const deadline = Date.now() + room.pollHoldMs();
  let st = first;
  while (st.state === 'waiting' && st.ticket !== null && !ctx.socketClosed) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    await room.waitForPlace(st.id, left);
    if (ctx.socketClosed) break;
    st = await room.poll(st.ticket, ctx.clientKey, ctx.id, null);
  }
  if (ctx.socketClosed) return ANSWERED;
  return statusReply(ctx, room, st);
}

function statusReply(ctx: RequestContext, room: Room, st: RoomStatusAnswer): PhaseOutcome {
  const headers: Record<string, string | string[]> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  let body: RoomStatus;
  if (st.state === 'admitted') {
    ctx.rt.stats.roomWaited('browser', true, st.id);
    headers['set-cookie'] = [sessionCookie(room, room.issueSession(st.tenant, ctx.clientKey)), clearTicketCookie(room)];
    body = { state: 'admitted', position: null, etaSeconds: null, pollAfterMs: 0 };
  } else if (st.state === 'waiting') {
    const position = room.position(st.id);
    // In maintenance the place is kept and nobody is let in: the page says so, with the operator's message.
    const maintenance = room.switches?.maintenance(st.tenant) ?? null;
    body =
      maintenance === null
        ? { state: 'waiting', position, etaSeconds: eta(room, position), pollAfterMs: room.pollAfterMs(position), ticket: st.ticket! }
        : { state: 'maintenance', position, etaSeconds: null, pollAfterMs: room.pollAfterMs(position), ticket: st.ticket! };
    const message = maintenance || messageFor(room, st.tenant);
    if (message !== undefined) body.message = message;
    headers['set-cookie'] = ticketCookie(room, st.ticket!);
  } else {
    body = { state: st.state, position: null, etaSeconds: null, pollAfterMs: room.pollAfterMs(null) };
  }
  const rt = ctx.rt;
  body.load = rt.control.view(room.upstream, room.limit);
  send(ctx, 200, headers, JSON.stringify(body));
  return ANSWERED;
}

function queryFlag(url: string, name: string): boolean {
  const q = url.indexOf('?');
  return q !== -1 && new URLSearchParams(url.slice(q + 1)).get(name) === '1';
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}
