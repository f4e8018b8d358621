/**
 * The login flows as library functions, against the emulator: the loopback/paste race, the manual
 * flow, timeouts and cancellation. Nothing is printed; everything is observed through the hooks.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OAuthFlowError } from '../src/errors.js';
import { type LoginEvent, loginManually, loginWithLoopback } from '../src/login.js';
import { TokenStorage } from '../src/store/file.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { makeTempDir, tokenRequests } from './helpers/fixtures.js';

let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;

beforeEach(async () => {
  emu = await startEmulator();
  temp = await makeTempDir('anthropic-oauth-login-');
});
afterEach(async () => {
  await emu.close();
  await temp.cleanup();
});

/** An AsyncIterable of lines the test pushes, like stdin; `end()` closes it. */
function pasteBox() {
  const lines: string[] = [];
  const waiters: Array<(result: IteratorResult<string, undefined>) => void> = [];
  let ended = false;
  let returned = false;
  const iterable: AsyncIterable<string> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        const line = lines.shift();
        if (line !== undefined) return Promise.resolve({ value: line, done: false as const });
        if (ended) return Promise.resolve({ value: undefined, done: true as const });
        return new Promise((resolve) => waiters.push(resolve));
      },
      return: () => {
        returned = true;
        ended = true;
        for (const waiter of waiters.splice(0)) waiter({ value: undefined, done: true });
        return Promise.resolve({ value: undefined, done: true as const });
      },
    }),
  };
  return {
    iterable,
    paste(line: string) {
      const waiter = waiters.shift();
      if (waiter) waiter({ value: line, done: false });
      else lines.push(line);
    },
    end() {
      ended = true;
      for (const waiter of waiters.splice(0)) waiter({ value: undefined, done: true });
    },
    /** True once the login stopped reading (it called `return()`). */
    get released() {
      return returned;
    },
  };
}

/** Resolves with the authorize URL once the flow reports it. */
function urlCatcher() {
  let resolveUrl: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => {
    resolveUrl = resolve;
  });
  return { url, onUrl: (value: string) => resolveUrl(value) };
}

describe('loginWithLoopback', () => {
  it('exchanges the code the browser brings back, with the loopback redirect URI, and saves it', async () => {
    const path = join(temp.dir, 'tokens.json');
    const events: LoginEvent[] = [];
    let opened = '';
    const tokens = await loginWithLoopback({
      oauthConfig: emu.oauthConfig,
      tokenStorage: path,
      openBrowser: async (url) => {
        opened = url;
        await fetch(await emu.approve(url));
      },
      onEvent: (event) => events.push(event),
    });
    const redirectUri = new URL(opened).searchParams.get('redirect_uri');
    expect(redirectUri).toMatch(/^http:\/\/localhost:\d+\/callback$/);
    expect(tokens.account?.emailAddress).toBe('user@example.com');
    expect((await new TokenStorage(path).load())?.accessToken).toBe(tokens.accessToken);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(tokenRequests(emu)[0]?.body).toMatchObject({ grant_type: 'authorization_code', redirect_uri: redirectUri });
    expect(events.map((event) => event.type)).toEqual(['listening', 'answered']);
    expect(events[1]).toEqual({ type: 'answered', via: 'browser' });
  });

  it('takes a pasted callback URL when the browser cannot reach the listener, and stops the listener', async () => {
    const box = pasteBox();
    const { url, onUrl } = urlCatcher();
    const events: LoginEvent[] = [];
    const login = loginWithLoopback({
      oauthConfig: emu.oauthConfig,
      openBrowser: false,
      pastedAnswers: box.iterable,
      onUrl,
      onEvent: (event) => events.push(event),
    });
    const callback = await emu.approve(await url);
    box.paste(`  ${callback}  `);
    const tokens = await login;
    expect(tokens.organization?.name).toBe('Example Org');
    expect(events.at(-1)).toEqual({ type: 'answered', via: 'paste' });
    expect(tokenRequests(emu)[0]?.body).toMatchObject({
      redirect_uri: new URL(await url).searchParams.get('redirect_uri'),
    });
    await expect(fetch(callback)).rejects.toThrow();
  });

  it('accepts CODE#STATE and a query string too, skipping blank lines and reporting junk', async () => {
    for (const form of ['hash', 'query'] as const) {
      const box = pasteBox();
      const { url, onUrl } = urlCatcher();
      const events: LoginEvent[] = [];
      const login = loginWithLoopback({
        oauthConfig: emu.oauthConfig,
        openBrowser: false,
        pastedAnswers: box.iterable,
        onUrl,
        onEvent: (event) => events.push(event),
      });
      const params = new URL(await emu.approve(await url)).searchParams;
      box.paste('');
      box.paste('hello there');
      box.paste(form === 'hash' ? `${params.get('code')}#${params.get('state')}` : params.toString());
      await expect(login).resolves.toMatchObject({ tokenType: 'Bearer' });
      const invalid = events.filter((event) => event.type === 'invalid_answer');
      expect(invalid).toHaveLength(1);
      expect(invalid[0]).toMatchObject({ error: { code: 'invalid_code' } });
    }
  });

  it('stops reading pasted lines once the browser answers', async () => {
    const box = pasteBox();
    await loginWithLoopback({
      oauthConfig: emu.oauthConfig,
      openBrowser: async (url) => {
        await fetch(await emu.approve(url));
      },
      pastedAnswers: box.iterable,
    });
    expect(box.released).toBe(true);
  });

  it('keeps waiting for the browser when the pasted input ends', async () => {
    const box = pasteBox();
    box.end();
    const tokens = await loginWithLoopback({
      oauthConfig: emu.oauthConfig,
      openBrowser: async (url) => {
        await fetch(await emu.approve(url));
      },
      pastedAnswers: box.iterable,
    });
    expect(tokens.accessToken).toMatch(/^sk-ant-oat01-/);
  });

  it('refuses a pasted answer whose state is not this login’s, without any exchange', async () => {
    const box = pasteBox();
    const { url, onUrl } = urlCatcher();
    const login = loginWithLoopback({
      oauthConfig: emu.oauthConfig,
      openBrowser: false,
      pastedAnswers: box.iterable,
      onUrl,
    });
    const params = new URL(await emu.approve(await url)).searchParams;
    // A slip is reported and the next line read; the third such answer ends the login.
    for (const n of [1, 2, 3]) box.paste(`${params.get('code')}#someone-elses-state-${n}`);
    await expect(login).rejects.toMatchObject({ code: 'state_mismatch' });
    expect(tokenRequests(emu)).toHaveLength(0);
  });

  it('refuses a stray callback with a wrong state, reports it, and still logs in with the real one', async () => {
    const events: LoginEvent[] = [];
    const strayPages: number[] = [];
    const tokens = await loginWithLoopback({
      oauthConfig: emu.oauthConfig,
      openBrowser: async (url) => {
        const callback = new URL(await emu.approve(url));
        const stray = new URL(callback);
        stray.searchParams.set('state', 'from-another-program');
        strayPages.push((await fetch(stray)).status);
        stray.searchParams.delete('state');
        strayPages.push((await fetch(stray)).status);
        await fetch(callback);
      },
      onEvent: (event) => events.push(event),
    });
    expect(strayPages).toEqual([400, 400]);
    expect(tokens.tokenType).toBe('Bearer');
    expect(events.map((event) => event.type)).toEqual(['listening', 'stray_callback', 'stray_callback', 'answered']);
    expect(tokenRequests(emu)).toHaveLength(1);
  });

  it('a stray callback does not end the login: it waits until its timeout', async () => {
    const { url, onUrl } = urlCatcher();
    const events: LoginEvent[] = [];
    const login = loginWithLoopback({
      oauthConfig: emu.oauthConfig,
      openBrowser: false,
      timeoutMs: 300,
      onUrl,
      onEvent: (event) => events.push(event),
    });
    const redirectUri = new URL(await url).searchParams.get('redirect_uri') ?? '';
    expect((await fetch(`${redirectUri}?error=access_denied&state=forged`)).status).toBe(400);
    await expect(login).rejects.toMatchObject({ code: 'timeout' });
    expect(events.map((event) => event.type)).toEqual(['listening', 'stray_callback']);
  });

  it('reports a denial as access_denied', async () => {
    const login = loginWithLoopback({
      oauthConfig: emu.oauthConfig,
      openBrowser: async (url) => {
        await fetch(await emu.deny(url));
      },
    });
    await expect(login).rejects.toMatchObject({ name: 'OAuthFlowError', code: 'access_denied' });
  });

  it('reports a browser that fails to open, and still takes a paste', async () => {
    const box = pasteBox();
    const events: LoginEvent[] = [];
    const login = loginWithLoopback({
      oauthConfig: emu.oauthConfig,
      openBrowser: async (url) => {
        box.paste(await emu.approve(url));
        throw new Error('no display');
      },
      pastedAnswers: box.iterable,
      onEvent: (event) => events.push(event),
    });
    await expect(login).resolves.toMatchObject({ tokenType: 'Bearer' });
    expect(events).toContainEqual({ type: 'browser_failed', error: new Error('no display') });
  });

  it('times out with a typed error and closes the listener', async () => {
    const { url, onUrl } = urlCatcher();
    const login = loginWithLoopback({ oauthConfig: emu.oauthConfig, openBrowser: false, timeoutMs: 50, onUrl });
    const error = await login.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthFlowError);
    expect(error).toMatchObject({ code: 'timeout', message: expect.stringContaining('No answer from the browser') });
    const redirectUri = new URL(await url).searchParams.get('redirect_uri') ?? '';
    await expect(fetch(`${redirectUri}?code=c&state=s`)).rejects.toThrow();
  });

  it('is cancelled by the caller’s signal with its reason', async () => {
    const controller = new AbortController();
    const login = loginWithLoopback({
      oauthConfig: emu.oauthConfig,
      openBrowser: async () => controller.abort(new Error('user pressed Ctrl+C')),
      signal: controller.signal,
    });
    await expect(login).rejects.toThrow('user pressed Ctrl+C');
  });

  it('rejects a timeout that is not a positive number', async () => {
    await expect(
      loginWithLoopback({ oauthConfig: emu.oauthConfig, openBrowser: false, timeoutMs: 0 }),
    ).rejects.toMatchObject({ code: 'invalid_config' });
  });
});

/** Collects the process warnings emitted while `run` runs (and the tick after, when they are emitted). */
async function warningsDuring(run: () => Promise<unknown>): Promise<string[]> {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(`${warning.name}: ${warning.message}`);
  };
  process.on('warning', onWarning);
  try {
    await run();
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.off('warning', onWarning);
  }
  return warnings;
}

describe('pasting many lines (issue 10 item 15)', () => {
  it('adds no abort listener per line: 200 junk lines, then the answer, and no MaxListenersExceededWarning', async () => {
    for (const flow of [loginManually, loginWithLoopback]) {
      const box = pasteBox();
      const { url, onUrl } = urlCatcher();
      const events: LoginEvent[] = [];
      const warnings = await warningsDuring(async () => {
        const login = flow({
          oauthConfig: emu.oauthConfig,
          openBrowser: false,
          pastedAnswers: box.iterable,
          onUrl,
          onEvent: (event) => events.push(event),
        });
        const callback = new URL(await emu.approve(await url));
        // Each line is read on its own (a waiting reader), as a slow paste or typing would be.
        for (let i = 0; i < 200; i++) {
          box.paste(`junk line ${i}`);
          await new Promise((resolve) => setImmediate(resolve));
        }
        const params = callback.searchParams;
        box.paste(`${params.get('code')}#${params.get('state')}`);
        await login;
      });
      expect(events.filter((event) => event.type === 'invalid_answer')).toHaveLength(200);
      expect(warnings.filter((warning) => warning.includes('MaxListenersExceeded'))).toEqual([]);
    }
  });
});

describe('loginManually', () => {
  it('uses the manual redirect page and the pasted CODE#STATE', async () => {
    const box = pasteBox();
    const { url, onUrl } = urlCatcher();
    const login = loginManually({
      oauthConfig: emu.oauthConfig,
      openBrowser: false,
      pastedAnswers: box.iterable,
      onUrl,
    });
    expect(new URL(await url).searchParams.get('redirect_uri')).toBe(emu.manualRedirectUri);
    const page = await (await fetch(await emu.approve(await url))).text();
    box.paste(/id="auth-code">([^<]+)</.exec(page)?.[1] ?? '');
    await expect(login).resolves.toMatchObject({ account: { emailAddress: 'user@example.com' } });
    expect(tokenRequests(emu)[0]?.body).toMatchObject({ redirect_uri: emu.manualRedirectUri });
  });

  it('fails when the input ends before an answer', async () => {
    const box = pasteBox();
    const login = loginManually({ oauthConfig: emu.oauthConfig, openBrowser: false, pastedAnswers: box.iterable });
    box.end();
    await expect(login).rejects.toMatchObject({ code: 'invalid_code' });
  });

  it('times out', async () => {
    const box = pasteBox();
    const login = loginManually({
      oauthConfig: emu.oauthConfig,
      openBrowser: false,
      pastedAnswers: box.iterable,
      timeoutMs: 50,
    });
    await expect(login).rejects.toMatchObject({ code: 'timeout' });
    expect(box.released).toBe(true);
  });
});
