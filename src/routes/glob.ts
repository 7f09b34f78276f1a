/**
 * Route path globs, compiled once at config load: `*` is one path segment (or part of one, as in
 * `*.png`), `**` is any number of segments. `/static/**` also matches `/static` itself.
 *
 * The grammar is kept narrow so that every compiled pattern runs in time linear in the path: at most
 * one `**` before the last segment and at most one `*` inside a segment. With two of either, a crafted
 * path of many segments could make the regular expression backtrack polynomially on every request.
 */

/** Anything with a `test(path)` method: a RegExp, or one of the cheaper matchers below. */
export interface PathMatcher {
  test(path: string): boolean;
}

const ANY: PathMatcher = { test: () => true };

/** Compiles a glob, or throws an Error whose message says what is wrong and what to write instead. */
export function compileGlob(glob: string): PathMatcher {
  const problem = globProblem(glob);
  if (problem !== undefined) throw new Error(problem);
  if (glob === '/**') return ANY;
  if (!glob.includes('*')) return { test: (path) => path === glob };
  if (glob.endsWith('/**') && !glob.slice(0, -3).includes('*')) {
    // The commonest shape (`/static/**`): a prefix test instead of a regular expression.
    const base = glob.slice(0, -3);
    const withSlash = `${base}/`;
    return { test: (path) => path.startsWith(withSlash) || path === base };
  }
  const segments = glob.split('/').slice(1);
  let source = '^';
  segments.forEach((segment, i) => {
    if (segment === '**') source += i === segments.length - 1 ? '(?:/.*)?' : '(?:/[^/]+)*';
    else if (segment === '*') source += '/[^/]+';
    else source += `/${segment.split('*').map(escapeRegExp).join('[^/]*')}`;
  });
  return new RegExp(`${source}$`);
}

/** What is wrong with a glob, or undefined when it compiles. */
export function globProblem(glob: string): string | undefined {
  if (!glob.startsWith('/')) return 'a route path starts with /, like /api/**';
  if (/[?#]/.test(glob)) return 'a route path is matched without the query string; remove ? and #';
  const segments = glob.split('/').slice(1);
  let deep = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.includes('**') && segment !== '**') return '** stands for whole segments only, as in /static/** or /a/**/b';
    if (segment === '**' && i < segments.length - 1 && ++deep > 1) return 'at most one ** may stand before the last segment';
    if (segment !== '*' && segment !== '**' && segment.split('*').length > 2) return 'at most one * inside a segment, as in /files/*.png';
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
