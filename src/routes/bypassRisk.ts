/**
 * Whether a bypass rule probably sends application traffic around the rate limits and the waiting
 * room (incident 003: a queue existed, but a configuration mistake let most traffic go around it).
 *
 * A bypass is meant for requests that cost the upstream next to nothing: static files and health
 * checks. The rule's conditions are judged by their shape, as written:
 *
 * 1. No path condition: every path (of its hosts, methods and headers) bypasses.
 * 2. A path whose first segment is a wildcard (`/**`, `/*`, `/*\/x`): every top-level path, unless its
 *    last segment names a static file type (`/**\/*.png` is fine).
 * 3. A path with a static-asset shape is fine: a segment that is a static directory (`static`,
 *    `assets`, `images`, `fonts`, ...), a last segment with a static file extension (`.css`, `.js`,
 *    `.png`, `.woff2`, ...), a well-known file (`/favicon.ico`, `/robots.txt`) or a health check
 *    (`/healthz`, `/ping`, ...).
 * 4. Any other path is application traffic as far as anyone can tell; `/api`, `/graphql`, `/v1` and
 *    the like are named as such.
 * 5. Methods other than GET, HEAD and OPTIONS are writes, which static files never need.
 *
 * It errs toward warning: a warning costs a look, a silent bypass cost incident 003.
 */
import type { RuleConditions } from './shadowing.js';

const STATIC_DIRS = new Set([
  'static', 'assets', 'asset', 'public', 'images', 'image', 'img', 'css', 'js', 'scripts', 'styles', 'fonts', 'font',
  'media', 'icons', 'dist', 'build', '.well-known',
]);
const STATIC_EXTENSIONS = new Set([
  'css', 'js', 'mjs', 'map', 'png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'avif', 'ico', 'bmp', 'woff', 'woff2', 'ttf', 'otf',
  'eot', 'mp3', 'mp4', 'webm', 'ogg', 'wasm', 'txt',
]);
const WELL_KNOWN_FILES = new Set(['favicon.ico', 'robots.txt', 'sitemap.xml', 'humans.txt', 'security.txt', 'manifest.json', 'site.webmanifest']);
const HEALTH_CHECKS = new Set(['health', 'healthz', 'healthcheck', 'livez', 'readyz', 'ping']);
const APPLICATION_PREFIXES = new Set(['api', 'graphql', 'rpc', 'v1', 'v2', 'v3', 'auth', 'login', 'signup', 'register', 'checkout', 'cart', 'account', 'admin', 'ws', 'socket.io']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Why the bypass rule probably carries application traffic, or undefined when it looks like static files. */
export function bypassRisk(rule: RuleConditions): string | undefined {
  const writes = rule.methods?.filter((m) => !SAFE_METHODS.has(m)) ?? [];
  const path = rule.path;
  let problem: string | undefined;
  if (path === undefined) {
    const scope = [rule.methods?.join(','), rule.host, ...Object.keys(rule.headers ?? {}).map((h) => `header ${h}`)].filter((x) => x !== undefined);
    problem = `every path${scope.length > 0 ? ` (of ${scope.join(', ')})` : ''} goes around the rate limits and the waiting room: a bypass should name the static files it is for, like /static/** or /**/*.png`;
  } else {
    const segments = path.split('/').slice(1);
    const first = segments[0] ?? '';
    const last = segments[segments.length - 1] ?? '';
    if (first.startsWith('*') && !hasStaticExtension(last)) {
      problem = `${path} matches every path, so all of that traffic goes around the rate limits and the waiting room`;
    } else if (!segments.some((s) => STATIC_DIRS.has(s.toLowerCase())) && !hasStaticExtension(last) && !isWellKnown(segments)) {
      problem = APPLICATION_PREFIXES.has(first.toLowerCase())
        ? `${path} is application traffic (/${first}), which then gets no rate limit and never waits in the room`
        : `${path} does not look like static files (no directory like /static or /assets, no extension like .css or .png, no health check): if it carries application traffic, that traffic gets no rate limit and never waits in the room`;
    }
  }
  if (writes.length > 0) {
    const w = `methods ${writes.join(', ')} are writes, which static files never need`;
    problem = problem === undefined ? w : `${problem}; ${w}`;
  }
  return problem;
}

function hasStaticExtension(segment: string): boolean {
  const dot = segment.lastIndexOf('.');
  return dot > -1 && STATIC_EXTENSIONS.has(segment.slice(dot + 1).toLowerCase());
}

/** A health check (`/healthz`, `/health/**`) or a well-known file standing alone (`/robots.txt`). */
function isWellKnown(segments: readonly string[]): boolean {
  const first = (segments[0] ?? '').toLowerCase();
  return HEALTH_CHECKS.has(first) || (segments.length === 1 && WELL_KNOWN_FILES.has(first));
}
