/**
 * An Anteroom in a child process that measures its own memory, so a test can tell whether the proxy
 * holds a body in memory without counting the test's own client and origin. Run compiled, with
 * `--expose-gc`: every sample follows a full collection, so it counts live memory, not garbage.
 *
 * Config comes as JSON in ANTEROOM_TEST_CONFIG. Messages: -> { ready, port }; <- 'reset' (start a
 * measurement) -> { reset }; <- 'report' -> { baseline, peak } in bytes of heap + external memory;
 * <- 'stop'.
 */
import { pino } from 'pino';
import { Anteroom } from '../../src/app.js';
import { formatConfigError, validateConfig } from '../../src/config/load.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined || process.send === undefined) throw new Error('run with --expose-gc as a forked child');
const send = process.send.bind(process);

const result = validateConfig(JSON.parse(process.env['ANTEROOM_TEST_CONFIG'] ?? '{}'));
if (!result.ok) throw new Error(result.errors.map(formatConfigError).join('; '));
const app = new Anteroom(result.config, { logger: pino({ level: 'silent' }) });
const { port } = await app.start();

function live(): number {
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

let baseline = live();
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, live());
}, 10);

process.on('message', (msg: string) => {
  if (msg === 'reset') {
    baseline = live();
    peak = baseline;
    send({ reset: true });
  } else if (msg === 'report') {
    peak = Math.max(peak, live());
    send({ baseline, peak });
  } else if (msg === 'stop') {
    clearInterval(sampler);
    void app.stop(0).then(() => process.exit(0));
  }
});
send({ ready: true, port });
