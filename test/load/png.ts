/**
 * An SVG turned into a PNG by the browser the tests use: headless Chromium (found or installed as in
 * test/helpers/browser.ts), driven by playwright-core, screenshotting the <svg> element.
 */
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, ensureChromium } from '../helpers/browser.js';

export async function svgToPng(svg: string, width: number, height: number, file: string): Promise<void> {
  const executablePath = await ensureChromium();
  const browser = await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS], timeout: 30_000 });
  try {
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${svg}</body></html>`);
    await page.locator('svg').first().screenshot({ path: file, animations: 'disabled' });
  } finally {
    await browser.close();
  }
}
