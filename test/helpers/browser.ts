/**
 * A real headless Chromium for tests, driven by playwright-core: Debian's `chromium` package (installed
 * with apt-get on first use when missing, since Playwright's own browser download cannot be fetched
 * here), a fresh profile per page, screenshots into `test-artifacts/`, and an axe-core accessibility check.
 *
 * Browser code runs from strings (`page.evaluate('document.title')`): the project compiles without the DOM
 * library, so a callback naming `document` would not type-check.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import axe from 'axe-core';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Where Debian (and a few other distributions) put Chromium; `CHROMIUM_PATH` wins when set. */
const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** Flags for a quiet, hermetic browser: nothing phones home, no GPU, no QUIC. */
export const CHROMIUM_ARGS: readonly string[] = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]);

const INSTALL_TIMEOUT_MS = 15 * 60_000;

function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  return CHROMIUM_CANDIDATES.find((path) => existsSync(path));
}

function run(command: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((done) => {
    execFile(
      command,
      args,
      { timeout: INSTALL_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } },
      (error, stdout, stderr) => done({ ok: !error, output: `${stdout}${stderr}${error ? `\n${error.message}` : ''}` }),
    );
  });
}

let installing: Promise<string> | undefined;

/**
 * The path of a Chromium executable, installing Debian's package when there is none. Fails with a
 * message that says what was tried, never by skipping: a browser test that does not run proves nothing.
 * Give the calling hook a long timeout (`CHROMIUM_SETUP_TIMEOUT_MS`): a first install takes minutes.
 */
export function ensureChromium(): Promise<string> {
  const found = findChromium();
  if (found) return Promise.resolve(found);
  installing ??= installChromium().finally(() => {
    installing = undefined;
  });
  return installing;
}

/** How long a hook that calls `ensureChromium` may take (an apt-get update plus install). */
export const CHROMIUM_SETUP_TIMEOUT_MS = INSTALL_TIMEOUT_MS + 60_000;

async function installChromium(): Promise<string> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(
      `Chromium is not installed (looked for ${CHROMIUM_CANDIDATES.join(', ')}; CHROMIUM_PATH is unset) and ` +
        'the tests are not running as root, so they cannot install it. Run `apt-get install -y chromium`, ' +
        'or set CHROMIUM_PATH to a Chromium executable.',
    );
  }
  // Wait for another apt/dpkg run (a parallel test worker) instead of failing on its lock.
  const install = ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', 'chromium'];
  let attempt = await run('apt-get', install);
  let log = attempt.output;
  if (!attempt.ok || !findChromium()) {
    // The usual cause is a stale or missing package list (a fresh machine has none).
    const update = await run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update']);
    attempt = await run('apt-get', install);
    log = `${log}\n--- apt-get update ---\n${update.output}\n--- apt-get install (retry) ---\n${attempt.output}`;
  }
  const path = findChromium();
  if (!path) {
    throw new Error(
      `Chromium could not be installed: \`apt-get install -y chromium\` failed, also after \`apt-get update\`. ` +
        `The browser tests need it (or CHROMIUM_PATH). Last lines of apt-get:\n${log.trim().split('\n').slice(-15).join('\n')}`,
    );
  }
  return path;
}

export interface PageOptions {
  javaScriptEnabled?: boolean;
  /** Sets `Accept-Language` and `navigator.language`. */
  locale?: string;
  reducedMotion?: 'reduce' | 'no-preference';
  colorScheme?: 'light' | 'dark';
  viewport?: { width: number; height: number };
}

/**
 * Runs `fn` with a page in a new headless Chromium with a fresh temporary profile (`--user-data-dir`),
 * and closes the browser and removes the profile afterwards, also when `fn` throws.
 */
export async function withPage<T>(fn: (page: Page, context: BrowserContext) => Promise<T>, options: PageOptions = {}): Promise<T> {
  const executablePath = await ensureChromium();
  const profile = await mkdtemp(join(tmpdir(), 'anteroom-chromium-'));
  let context: BrowserContext | undefined;
  try {
    // launchPersistentContext is Playwright's way to pass --user-data-dir (it refuses the flag in `args`).
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
      javaScriptEnabled: options.javaScriptEnabled ?? true,
      locale: options.locale ?? 'en-US',
      reducedMotion: options.reducedMotion ?? 'no-preference',
      colorScheme: options.colorScheme ?? 'light',
      viewport: options.viewport ?? { width: 1000, height: 760 },
      timeout: 30_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    return await fn(page, context);
  } finally {
    await context?.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
  }
}

/** The repository root: the nearest directory above this file that has a package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** `test-artifacts/` at the repository root (gitignored): screenshots and other things to look at. */
export const ARTIFACTS_DIR = resolve(repoRoot(), 'test-artifacts');

/** Saves a full-page PNG of `page` as `test-artifacts/<name>.png` and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/** An axe-core rule violation, as much of it as a failing assertion needs to explain itself. */
export interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  helpUrl: string;
  nodes: { target: unknown[]; html: string; failureSummary?: string }[];
}

/**
 * Runs axe-core in `page` (injected from the local package, no network) against the whole document and
 * returns the violations; the page needs JavaScript enabled.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(`${axe.source}\n;void 0`);
  const result = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => JSON.parse(JSON.stringify(r.violations)))",
  )) as AxeViolation[];
  return result;
}

/** The violations at `serious` or `critical` impact, the ones a test should fail on. */
export function seriousViolations(violations: AxeViolation[]): AxeViolation[] {
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** One line per violation and node, for an assertion message. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .flatMap((v) => v.nodes.map((n) => `${v.impact ?? '?'} ${v.id} (${v.help}) at ${JSON.stringify(n.target)}: ${n.html}`))
    .join('\n');
}
