/**
 * A real headless Chromium for the login tests, driven by `playwright-core` (Debian's
 * `/usr/bin/chromium`). A fresh profile per test. Nothing leaves loopback, twice over: requests
 * beyond it are aborted (and recorded), and the browser's proxy is a closed local port, which also
 * catches what Playwright's routing does not see (the targets of redirects).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { closedPort } from './cli-run.js';

export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface TestBrowser {
  page: Page;
  context: BrowserContext;
  /** Every URL the browser tried to load beyond loopback (and was refused). */
  blocked: string[];
  close(): Promise<void>;
}

export interface LaunchOptions {
  /**
   * Make `localhost` unreachable (127.0.0.1 still works), like a browser on another machine: the
   * redirect to the CLI's `http://localhost:PORT/callback` fails to load, as it would over SSH.
   */
  remote?: boolean;
}

export async function launchBrowser(options: LaunchOptions = {}): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'anthropic-oauth-chromium-'));
  const deadProxy = `--proxy-server=http://127.0.0.1:${await closedPort()}`;
  // Loopback normally bypasses the proxy; a remote browser sends `localhost` to the dead proxy.
  const bypass = options.remote ? ['--proxy-bypass-list=<-loopback>;127.0.0.1'] : [];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...ARGS, deadProxy, ...bypass],
  });
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && !LOOPBACK.has(url.hostname)) {
      blocked.push(url.href);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    page,
    context,
    blocked,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
