/** Settings the benches read from the environment. */

/** A positive number from `process.env[name]`, `fallback` when unset; anything else is an error that names the variable. */
export function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${v}"`);
  return n;
}
