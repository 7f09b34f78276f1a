/**
 * The websockets this instance is proxying, so that they can be closed on purpose: with 1001 at
 * shutdown, or (admin) with 1013 and a retry hint for a blocked client or tenant.
 */
import type { Duplex } from 'node:stream';
import { closeFrame, FrameBoundary } from './wsFrames.js';

export interface OpenWebsocket {
  readonly id: string;
  readonly tenant: string;
  readonly clientKey: string;
  /** The client address, the route name and the Cookie header of the upgrade: what a block can name. */
  readonly clientIp: string;
  readonly routeName: string;
  readonly cookie: string | undefined;
  readonly client: Duplex;
  readonly upstream: Duplex;
  /** Frame boundaries of the upstream -> client direction. */
  readonly toClient: FrameBoundary;
  /** Frame boundaries of the client -> upstream direction. */
  readonly toUpstream: FrameBoundary;
  closing: boolean;
}

export class WebsocketRegistry {
  private readonly open = new Map<string, OpenWebsocket>();
  private readonly perTenant = new Map<string, number>();
  /** Upgrades counted for their tenant (see reserve) whose upstream has not switched protocols yet. */
  private readonly reserved = new Map<Duplex, string>();
  /** Websockets opened (the upstream switched protocols) and closed since start, for the metrics. */
  opened = 0;
  closed = 0;
  /** Called for every websocket that opens (a block that arrived during its handshake closes it). */
  onOpen: ((ws: OpenWebsocket) => void) | null = null;

  get size(): number {
    return this.open.size;
  }

  /** Websockets of a tenant open at this instance, with the upgrades reserved and still in their handshake. */
  openFor(tenant: string): number {
    return this.perTenant.get(tenant) ?? 0;
  }

  /**
   * Counts an upgrade against its tenant from the moment it passes the per-tenant cap, not from the
   * upstream's 101: otherwise every upgrade of a parallel burst passes the check before any is open.
   * The place is given back when the socket closes before track(), or with unreserve().
   */
  reserve(tenant: string, client: Duplex): void {
    if (this.reserved.has(client)) return;
    this.reserved.set(client, tenant);
    this.add(tenant, 1);
    client.once('close', () => this.unreserve(client));
  }

  /** Gives back a reservation (the upgrade was refused after all); nothing if there is none. */
  unreserve(client: Duplex): void {
    const tenant = this.reserved.get(client);
    if (tenant === undefined) return;
    this.reserved.delete(client);
    this.add(tenant, -1);
  }

  private add(tenant: string, n: number): void {
    const count = (this.perTenant.get(tenant) ?? 0) + n;
    if (count <= 0) this.perTenant.delete(tenant);
    else this.perTenant.set(tenant, count);
  }

  /** Starts following a connection once the upstream accepted the upgrade. */
  track(
    id: string,
    tenant: string,
    clientKey: string,
    client: Duplex,
    upstream: Duplex,
    who: { clientIp: string; routeName: string; cookie: string | undefined } = { clientIp: '', routeName: '', cookie: undefined },
  ): OpenWebsocket {
    const ws: OpenWebsocket = {
      id,
      tenant,
      clientKey,
      clientIp: who.clientIp,
      routeName: who.routeName,
      cookie: who.cookie,
      client,
      upstream,
      toClient: new FrameBoundary(),
      toUpstream: new FrameBoundary(),
      closing: false,
    };
    upstream.on('data', (chunk: Buffer) => {
      if (!ws.closing) ws.toClient.feed(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      if (!ws.closing) ws.toUpstream.feed(chunk);
    });
    this.open.set(id, ws);
    this.opened++;
    // A reservation becomes the open socket's count.
    this.unreserve(client);
    this.add(tenant, 1);
    const forget = (): void => {
      if (this.open.delete(id)) {
        this.add(tenant, -1);
        this.closed++;
      }
    };
    client.once('close', forget);
    upstream.once('close', forget);
    this.onOpen?.(ws);
    return ws;
  }

  all(): IterableIterator<OpenWebsocket> {
    return this.open.values();
  }

  /**
   * Sends `code` to both ends at the next frame boundary of each direction, then closes the sockets.
   * The upstream gets a masked frame because anteroom is its client. Returns when both are closed or
   * after `timeoutMs`, whichever comes first.
   */
  close(ws: OpenWebsocket, code: number, reason: string, timeoutMs = 2_000): Promise<void> {
    if (ws.closing) return Promise.resolve();
    ws.closing = true;
    const done = Promise.all([
      closeDirection(ws.upstream, ws.client, ws.toClient, closeFrame(code, reason, false), timeoutMs),
      closeDirection(ws.client, ws.upstream, ws.toUpstream, closeFrame(code, reason, true), timeoutMs),
    ]).then(() => undefined);
    return done;
  }

  closeAll(code: number, reason: string, timeoutMs?: number): Promise<void> {
    return Promise.all([...this.open.values()].map((ws) => this.close(ws, code, reason, timeoutMs))).then(() => undefined);
  }
}

/** Stops piping `from` into `to`, completes the frame in flight, writes `frame` and ends `to`. */
function closeDirection(from: Duplex, to: Duplex, boundary: FrameBoundary, frame: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (to.destroyed) return resolve();
    from.unpipe(to);
    const finish = (): void => {
      from.off('data', onData);
      clearTimeout(timer);
      if (!to.destroyed && to.writable) to.end(frame);
      to.once('close', () => resolve());
      setTimeout(() => {
        to.destroy();
        resolve();
      }, timeoutMs).unref();
    };
    const onData = (chunk: Buffer): void => {
      const n = boundary.bytesToBoundary(chunk);
      if (n > 0) to.write(chunk.subarray(0, n));
      if (boundary.atBoundary) finish();
    };
    const timer = setTimeout(() => {
      // The frame in flight never completed: close without a frame rather than corrupt one.
      from.off('data', onData);
      to.destroy();
      resolve();
    }, timeoutMs);
    timer.unref();
    if (boundary.atBoundary) finish();
    else from.on('data', onData);
    // unpipe() paused `from`: without this the rest of the frame in flight never reaches onData, and
    // the peer's end of stream is never read, so neither socket closes until the timeout.
    from.resume();
  });
}
