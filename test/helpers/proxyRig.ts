/**
 * The proxy and the origin behind it that each test of a file starts, taken down after the test in
 * the order that does not hang: requests an origin still holds are answered first, then the proxy
 * stops, then the origin closes. A test that fails half-way leaves nothing listening.
 */
import { afterEach } from 'vitest';
import type { Logger } from 'pino';
import { startProxy, type Proxy } from './servers.js';

/** An origin as the rig closes it; a counting origin's held requests are released first. */
export interface RigOrigin {
  close(): Promise<void>;
  releaseAll?(): void;
}

export interface ProxyRig<O extends RigOrigin> {
  /** The current test's origin, once it has one. */
  origin: O | undefined;
  /** The current test's proxy, once it has one. */
  readonly proxy: Proxy | undefined;
  /** Starts the test's proxy (see startProxy), to be stopped after the test. */
  startProxy(upstreamUrl: string, patch?: Record<string, unknown>, logger?: Logger): Promise<Proxy>;
}

/** Registers the file's after-each teardown and returns the rig. */
export function proxyRig<O extends RigOrigin>(): ProxyRig<O> {
  let proxy: Proxy | undefined;
  const rig: ProxyRig<O> = {
    origin: undefined,
    get proxy() {
      return proxy;
    },
    async startProxy(upstreamUrl, patch, logger) {
      proxy = await startProxy(upstreamUrl, patch, logger);
      return proxy;
    },
  };
  afterEach(async () => {
    rig.origin?.releaseAll?.();
    await proxy?.stop();
    await rig.origin?.close();
    proxy = rig.origin = undefined;
  });
  return rig;
}
