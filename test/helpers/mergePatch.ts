/**
 * Deep-merges a test's config patch over a base config: nested objects merge key by key, anything
 * else (arrays included) replaces. A test then states only the settings it is about.
 */
export type Patch = { [key: string]: unknown };

export function mergePatch(a: Patch, b: Patch): Patch {
  const out: Patch = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isPlain(prev) && isPlain(v) ? mergePatch(prev, v) : v;
  }
  return out;
}

function isPlain(v: unknown): v is Patch {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
