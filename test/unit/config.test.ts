import { describe, expect, it } from 'vitest';
import { formatConfigError, parseConfigText } from '../../src/config/load.js';

const minimal = 'upstreams:\n  app: { url: http://127.0.0.1:3000 }\n';

describe('config', () => {
  it('fills defaults from the schema', () => {
    const r = parseConfigText(minimal, {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.listen.port).toBe(8080);
    expect(r.config.upstreams['app']!.timeoutMs).toBe(30000);
    expect(Object.isFrozen(r.config.listen)).toBe(true);
  });
});
