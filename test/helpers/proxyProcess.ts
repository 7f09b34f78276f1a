/**
 * An Anteroom in a child process that measures its own memory, so a test can tell whether the proxy
 * holds a body in memory without counting the test's own client and origin. Run compiled, with
 * `--expose-gc`: every sample follows a full collection, so it counts live memory, not garbage.
 *
 * Config comes as JSON in ANTEROOM_TEST_CONFIG. Messages: -> { ready, port, adminPort }; <- 'reset' (start a
 * measurement, sampling every 10 ms) -> { reset }; <- 'report' (end it) -> { baseline, peak } in bytes
 * of heap + external memory; <- 'sample' -> { live } (one sample now, outside any measurement);
 * <- 'room' -> { room: { waiting } } (read, never driven); <- 'connections' -> { connections } (open
 * client connections, upgraded ones included); <- 'stop'.
 *
 * With ANTEROOM_TEST_LOG set to a level, the proxy logs JSON lines to stdout at that level, so a test
 * can read its request lines and reasons; otherwise it is silent.
 */
import { pino } from 'pino';
import { Anteroom } from '../../src/app.js';
import { formatConfigError, validateConfig } from '../../src/config/load.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined || process.send === undefined) throw new Error('run with --expose-gc as a forked child');
const send = process.send.bind(process);

const given = JSON.parse(process.env['ANTEROOM_TEST_CONFIG'] ?? '{}') as { admin?: unknown };
// Test files run in parallel: without an admin section of its own, the admin listener takes a free port
// rather than the default 9180.
given.admin ??= { host: '127.0.0.1', port: 0 };
const result = validateConfig(given);
if (!result.ok) throw new Error(result.errors.map(formatConfigError).join('; '));
const logLevel = process.env['ANTEROOM_TEST_LOG'];
const app = new Anteroom(result.config, { logger: logLevel ? pino({ level: logLevel }) : pino({ level: 'silent' }) });
const { port } = await app.start();

function live(): number {
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

let baseline = live();
let peak = baseline;
// Samples only while a measurement runs: a full collection every 10 ms costs the proxy much of its
// CPU, which a test that only reads its logs or its room should not pay.
let sampler: NodeJS.Timeout | undefined;

process.on('message', (msg: string) => {
  if (msg === 'reset') {
    baseline = live();
    peak = baseline;
    clearInterval(sampler);
    sampler = setInterval(() => {
      peak = Math.max(peak, live());
    }, 10);
    send({ reset: true });
  } else if (msg === 'report') {
    clearInterval(sampler);
    peak = Math.max(peak, live());
    send({ baseline, peak });
  } else if (msg === 'sample') {
    send({ live: live() });
  } else if (msg === 'connections') {
    app.server.getConnections((_err, connections) => send({ connections }));
  } else if (msg === 'room') {
    send({ room: { waiting: app.rt.room.waiting } });
  } else if (msg === 'stop') {
    clearInterval(sampler);
    void app.stop(0).then(() => process.exit(0));
  }
});
send({ ready: true, port, adminPort: app.adminAddress?.port ?? null });
