/**
 * The emulator's pages in a real headless Chromium: each says it is a local emulator, fits a
 * phone-width window (360 px, no horizontal scroll), and the code page's copy button puts the code
 * on the clipboard (and nowhere else: the page makes no request, the CSP allows no other script).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/testing/index.js';
import { launchBrowser, type TestBrowser } from '../helpers/cli-browser.js';

let emu: Emulator;
let browser: TestBrowser;

beforeEach(async () => {
  emu = await startEmulator();
  browser = await launchBrowser();
});

afterEach(async () => {
  await browser.close();
  await emu.close();
  expect(browser.blocked).toEqual([]);
});

/** An authorize URL for the manual flow, with long parameters (a long redirect, many scopes). */
async function manualAuthorizeUrl(): Promise<string> {
  const { buildAuthorizationUrl } = await import('../../src/authorize.js');
  const scopes = `${emu.oauthConfig.scopes} user:sessions:claude_code user:mcp_servers user:file_upload a-very-long-unknown-scope-name-that-does-not-break-anywhere`;
  const { url } = await buildAuthorizationUrl({ ...emu.oauthConfig, scopes });
  return url;
}

async function fitsPhone(): Promise<{ scrollWidth: number; banner: string }> {
  return browser.page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    banner: document.getElementById('emulator-banner')?.textContent ?? '',
  }));
}

describe('the emulator pages', () => {
  it('say they are a local emulator and fit 360 px: consent, code and error pages', async () => {
    const { page } = browser;
    await page.setViewportSize({ width: 360, height: 640 });
    const url = await manualAuthorizeUrl();

    await page.goto(url);
    expect(await fitsPhone()).toEqual({
      scrollWidth: 360,
      banner: expect.stringMatching(/local emulator.*not Anthropic/i),
    });

    await page.click('#approve');
    await page.waitForSelector('#auth-code');
    expect(await fitsPhone()).toEqual({ scrollWidth: 360, banner: expect.stringMatching(/not Anthropic/) });

    await page.goto(`${emu.url}/oauth/authorize?client_id=${'x'.repeat(300)}`);
    expect(await fitsPhone()).toEqual({ scrollWidth: 360, banner: expect.stringMatching(/not Anthropic/) });
  });

  it('the copy button puts CODE#STATE on the clipboard, says so, and sends nothing', async () => {
    const { page, context } = browser;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: emu.url });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => errors.push(message.text()));
    page.on('pageerror', (error) => errors.push(error.message));

    await page.goto(await manualAuthorizeUrl());
    await page.click('#approve');
    await page.waitForSelector('#auth-code');
    const code = (await page.locator('#auth-code').textContent()) ?? '';
    expect(code).toMatch(/^[^#\s]+#[^#\s]+$/);
    const before = requests.length;

    await page.click('#copy');
    await expect.poll(() => page.locator('#copy').textContent()).toBe('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(code);
    // The click made no request (the CSP would refuse one anyway) and logged nothing.
    expect(requests.slice(before)).toEqual([]);
    expect(errors).toEqual([]);
  });
});
