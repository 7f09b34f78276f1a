/**
 * The request's path, written down once. The table in README.md and DESIGN.md mirrors this list.
 *
 *   accept -> identify -> route -> guard -> rate-limit -> admit -> forward -> observe
 *
 * The request phases run in order until one answers (a refusal, an own endpoint) or forward hands the
 * request to the upstream. observe always runs, exactly once, when the exchange is over.
 */
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Runtime } from '../runtime.js';
import { refuse } from '../respond/answer.js';
import { accept } from './accept.js';
import { admit } from './admit.js';
import { RequestContext } from './context.js';
import { forward } from './forward.js';
import { guard } from './guard.js';
import { identify } from './identify.js';
import { observe } from './observe.js';
import { ANSWERED, type Phase, type PhaseOutcome } from './phase.js';
import { rateLimit } from './rateLimit.js';
import { route } from './route.js';

export const REQUEST_PHASES: readonly Phase[] = [accept, identify, route, guard, rateLimit, admit, forward];
export const PHASES: readonly Phase[] = [...REQUEST_PHASES, observe];

export function handleRequest(rt: Runtime, req: IncomingMessage, res: ServerResponse): void {
  if (res.socket === null) {
    // Pipelined behind a response still under way: handled when its turn comes, that is when Node
    // gives its response the socket. Handled at once, it reached the upstream even when the response
    // before it closed the connection, which RFC 9112 section 9.6 forbids (the client sends it again
    // elsewhere, and the upstream carries it out twice); and when the connection closed before its
    // turn, Node never emitted 'close' on its response, so its slots and place were never given back.
    // If the connection closes first, it is dropped unprocessed, as Node drops it.
    res.once('socket', () => start(rt, req, res));
    return;
  }
  start(rt, req, res);
}

function start(rt: Runtime, req: IncomingMessage, res: ServerResponse): void {
  // The response before it closed the connection (Connection: close) and Node still read this one
  // from the bytes that had arrived: nothing more is processed on that connection (RFC 9112 section 9.6).
  if (!req.socket.writable) return;
  const ctx = new RequestContext(rt, req, res, null, null, performance.now());
  // `on`, not `once`: a response emits close exactly once, and once() wraps every listener in a bound
  // function and a state object, per request.
  res.on('close', () => finish(ctx));
  run(ctx, 0);
}

export function handleUpgrade(rt: Runtime, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  rt.stats.upgrades++;
  const ctx = new RequestContext(rt, req, null, socket, head, performance.now());
  socket.on('error', (err) => {
    ctx.upstreamError ??= `client socket: ${err.message}`;
  });
  socket.once('close', () => finish(ctx));
  run(ctx, 0);
}

/** Runs the request phases from `i`; synchronous phases run in one loop without promises. */
function run(ctx: RequestContext, i: number): void {
  try {
    for (; i < REQUEST_PHASES.length; i++) {
      const outcome = REQUEST_PHASES[i]!.run(ctx);
      if (outcome === ANSWERED) return;
      if (typeof outcome === 'object') {
        const next = i + 1;
        outcome.then(
          (o: PhaseOutcome) => {
            if (o !== ANSWERED) run(ctx, next);
          },
          (err: unknown) => fail(ctx, REQUEST_PHASES[i]!, err),
        );
        return;
      }
    }
  } catch (err) {
    fail(ctx, REQUEST_PHASES[i]!, err);
  }
}

function fail(ctx: RequestContext, phase: Phase, err: unknown): void {
  ctx.rt.log.error({ reqId: ctx.id, phase: phase.name, err }, 'phase failed');
  refuse(ctx, 'ANT_INTERNAL', 'anteroom failed to handle this request; it has been logged.');
}

function finish(ctx: RequestContext): void {
  ctx.socketClosed = true;
  if (ctx.res !== null && !ctx.res.writableFinished && ctx.decision !== 'pending') ctx.clientAborted = true;
  // One close listener per request, here, rather than one more in the forwarder.
  if (ctx.exchange !== null) ctx.exchange.clientClosed();
  const gate = ctx.rt.limits.gate;
  if (ctx.waiter !== null) gate.cancel(ctx.waiter);
  // A held request whose client went away leaves the room at once.
  if (ctx.roomHeld !== null) {
    ctx.rt.room.leave(ctx.roomHeld);
    ctx.roomHeld = null;
  }
  if (ctx.slot !== null) {
    gate.release(ctx.slot);
    ctx.slot = null;
  }
  try {
    observe.run(ctx);
  } catch (err) {
    ctx.rt.log.error({ reqId: ctx.id, phase: 'observe', err }, 'phase failed');
  }
}
