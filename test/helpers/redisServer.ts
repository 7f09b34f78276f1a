/**
 * A private redis-server per test file: on a free loopback port, no persistence, its own temp dir,
 * never the shared Redis on 6379. Tests stall it (SIGSTOP), kill it and restart it on the same port
 * to play outages for real.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const REDIS_SERVER = process.env['REDIS_SERVER'] ?? '/usr/bin/redis-server';
export const REDIS_CLI = process.env['REDIS_CLI'] ?? '/usr/bin/redis-cli';

const running = new Set<ChildProcess>();
// A crashed test worker must not leave servers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Sends one inline command and returns the first reply line, or throws after `timeoutMs`. */
export async function command(port: number, line: string, timeoutMs = 500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on ${port} did not answer ${line} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      const end = data.indexOf('\r\n');
      // A bulk reply ($<length>) is complete once its body has arrived too.
      const complete = end >= 0 && (data[0] !== '$' || Buffer.byteLength(data) >= end + 4 + Number(data.slice(1, end)));
      if (complete) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export class RedisServer {
  readonly port: number;
  private readonly extraArgs: string[];
  private readonly dir: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(port: number, extraArgs: string[]) {
    this.port = port;
    this.extraArgs = extraArgs;
    this.dir = mkdtempSync(join(tmpdir(), 'anteroom-redis-'));
  }

  /** Starts a server and resolves once it answers PING. `args` are extra redis-server options. */
  static async start(args: string[] = []): Promise<RedisServer> {
    if (!existsSync(REDIS_SERVER)) {
      throw new Error(`redis-server not found at ${REDIS_SERVER}: the Redis tests need a real server (apt-get install redis-server, or set REDIS_SERVER)`);
    }
    const server = new RedisServer(await freePort(), args);
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The directory the server runs in (cluster config files go there). */
  get workDir(): string {
    return this.dir;
  }

  private async launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--protected-mode', 'no', ...this.extraArgs];
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk.toString()));
    this.child = child;
    running.add(child);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => running.delete(child));
    const deadline = Date.now() + 5000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited at start: ${stderr}`);
      try {
        if ((await command(this.port, 'PING', 200)).startsWith('+PONG')) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not answer PING within 5 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Freezes the process: connections stay open and nothing is answered, like a stalled server. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Kills the process at once, dropping its data and connections. */
  async kill(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Starts a fresh (empty) server on the same port. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** Stops the server and removes its directory. */
  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGCONT');
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child?.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Three masters (no replicas) forming a Redis Cluster on free ports. */
export async function startRedisCluster(size = 3): Promise<RedisServer[]> {
  if (!existsSync(REDIS_CLI)) throw new Error(`redis-cli not found at ${REDIS_CLI}: the cluster test needs it to create the cluster`);
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(await RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']));
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await promisify(execFile)(REDIS_CLI, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 });
    const deadline = Date.now() + 10_000;
    for (const node of nodes) {
      while (!(await command(node.port, 'CLUSTER INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`cluster node ${node.port} not ok within 10 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return nodes;
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
}
