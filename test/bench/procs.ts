/**
 * Child processes of the bench: spawned pinned to a CPU when `taskset` works, tracked so that every one
 * of them is stopped when the bench ends, fails or is interrupted.
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

const children = new Set<ChildProcess>();

/** Whether `taskset` exists and may pin to `cpu` (it may not in a container with a cpuset). */
export function tasksetWorks(cpu: number): boolean {
  const r = spawnSync('taskset', ['-c', String(cpu), 'true'], { stdio: 'ignore' });
  return r.status === 0;
}

export interface SpawnOptions {
  /** CPU to pin the process to, or null to leave it to the scheduler. */
  cpu: number | null;
  stdio?: StdioOptions;
  env?: NodeJS.ProcessEnv;
}

/** Spawns `command args` (through `taskset -c cpu` when pinned) and tracks it until it exits. */
export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const [cmd, argv] = options.cpu === null ? [command, args] : ['taskset', ['-c', String(options.cpu), command, ...args]];
  // taskset execs the command, so the child's pid is the command's pid.
  const child = spawn(cmd, argv, { stdio: options.stdio ?? ['ignore', 'pipe', 'inherit'], env: options.env ?? process.env });
  children.add(child);
  child.once('exit', () => children.delete(child));
  // A command that cannot start (ENOENT) emits 'error' and never 'exit'. Unheard, that error would
  // crash the bench; the caller's wait for the child to listen reports it instead.
  child.once('error', (err) => {
    children.delete(child);
    process.stderr.write(`bench: cannot run ${cmd}: ${err.message}\n`);
  });
  return child;
}

/** Moves a running process (all its threads) to another CPU. */
export function repin(pid: number, cpu: number): boolean {
  return spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' }).status === 0;
}

/** Waits for the `LISTENING <port>` line the bench servers print. */
export function waitForListening(child: ChildProcess, name: string, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        cleanup();
        // Keep reading so a chatty child never blocks on a full pipe.
        child.stdout!.resume();
        resolve(Number(m[1]));
      }
    };
    const onExit = (code: number | null): void => fail(new Error(`${name} exited (code ${code}) before listening`));
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    };
    const fail = (err: Error): void => {
      cleanup();
      reject(err);
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Polls `url` until it answers 200. */
export async function waitForHttp(url: string, child: ChildProcess, name: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (code ${child.exitCode}) before it was ready`);
    const status = await new Promise<number>((resolve) => {
      const req = request(url, { agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      req.end();
    });
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${name} not ready at ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A port that was free a moment ago, for a child that must be told its port up front. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Stops a child: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export function stop(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stop(c)));
}

/** Last resort on exit: nothing may outlive the bench. Synchronous, so it works in an 'exit' handler. */
export function killAllNow(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** CPU time (user + system) a process has used so far, in seconds; null where /proc is not there. */
export function processCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return null;
  }
}

/** Busy and total jiffies per CPU from /proc/stat; empty where /proc is not there. */
export function cpuTimes(): { busy: number; total: number }[] {
  try {
    const out: { busy: number; total: number }[] = [];
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+) (.*)$/.exec(line);
      if (!m) continue;
      const v = m[2]!.trim().split(/\s+/).map(Number);
      // user nice system idle iowait irq softirq steal: guest time is already counted in user.
      const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
      out[Number(m[1])] = { busy: total - v[3]! - v[4]!, total };
    }
    return out;
  } catch {
    return [];
  }
}

let ticks: number | null = null;
function clockTicks(): number {
  if (ticks === null) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    ticks = Number(r.stdout?.trim()) || 100;
  }
  return ticks;
}
