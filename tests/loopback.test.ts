/** The one-shot loopback listener: real sockets on 127.0.0.1 and ::1, nothing else. */
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { OAuthFlowError } from '../src/errors.js';
import { type LoopbackListener, startLoopbackListener } from '../src/loopback.js';

const open: LoopbackListener[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((listener) => listener.close()));
});

async function listen(options: Parameters<typeof startLoopbackListener>[0] = {}): Promise<LoopbackListener> {
  const listener = await startLoopbackListener(options);
  open.push(listener);
  return listener;
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A GET over a real socket, with full control of the Host header. */
function get(host: string, port: number, path: string, options: { method?: string; hostHeader?: string } = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        path,
        method: options.method ?? 'GET',
        headers: { host: options.hostHeader ?? `localhost:${port}` },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Resolves true when a TCP connection to host:port is accepted. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Handles the outcome at once (a rejection must not wait unhandled while the test sends requests). */
function settled<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

const hasIpv6Loopback = Object.values(networkInterfaces()).some((list) =>
  list?.some((entry) => entry.family === 'IPv6' && entry.address === '::1'),
);

describe('startLoopbackListener', () => {
  it('listens on 127.0.0.1 and ::1 only, and names localhost in the redirect URI', async () => {
    const listener = await listen();
    expect(listener.redirectUri).toBe(`http://localhost:${listener.port}/callback`);
    expect(listener.addresses).toEqual(hasIpv6Loopback ? ['127.0.0.1', '::1'] : ['127.0.0.1']);
    expect(await reachable('127.0.0.1', listener.port)).toBe(true);
    if (hasIpv6Loopback) expect(await reachable('::1', listener.port)).toBe(true);
    // Another loopback address and every external one are refused: nothing listens on 0.0.0.0 or ::.
    const external = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .filter((entry) => !entry.internal && entry.scopeid === undefined)
      .map((entry) => entry.address);
    for (const address of ['127.0.0.2', ...external]) {
      expect(await reachable(address, listener.port), address).toBe(false);
    }
  });

  it('resolves the code of a callback with the expected state, answers a page, then closes', async () => {
    const listener = await listen();
    const wait = settled(listener.waitForCallback('the-state'));
    const answer = await get('127.0.0.1', listener.port, '/callback?code=the-code&state=the-state');
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('You can close this tab and return to the terminal');
    expect(answer.body).not.toContain('the-code');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
    expect(await wait).toEqual({ value: { code: 'the-code', state: 'the-state' } });
    // Closed by the time the wait is over: a second callback is refused at the TCP level.
    expect(await reachable('127.0.0.1', listener.port)).toBe(false);
    if (hasIpv6Loopback) expect(await reachable('::1', listener.port)).toBe(false);
  });

  it('answers over ::1 too (browsers may resolve localhost to it)', async () => {
    const listener = await listen();
    const wait = settled(listener.waitForCallback('s'));
    const host = hasIpv6Loopback ? '::1' : '127.0.0.1';
    const answer = await get(host, listener.port, '/callback?code=c&state=s', { hostHeader: `[::1]:${listener.port}` });
    expect(answer.status).toBe(200);
    expect(await wait).toEqual({ value: { code: 'c', state: 's' } });
  });

  it('refuses a wrong state with an error page and state_mismatch, and stops listening', async () => {
    const listener = await listen();
    const wait = settled(listener.waitForCallback('expected'));
    const answer = await get('127.0.0.1', listener.port, '/callback?code=c&state=forged');
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('does not belong to the login waiting in your terminal');
    expect(await wait).toMatchObject({ error: { name: 'OAuthFlowError', code: 'state_mismatch' } });
    expect(await reachable('127.0.0.1', listener.port)).toBe(false);
  });

  it('refuses a missing state, even with a code', async () => {
    const listener = await listen();
    const wait = settled(listener.waitForCallback('expected'));
    expect((await get('127.0.0.1', listener.port, '/callback?code=c')).status).toBe(400);
    expect(await wait).toMatchObject({ error: { code: 'state_mismatch' } });
  });

  it('turns error=access_denied into access_denied, with a page saying so', async () => {
    const listener = await listen();
    const wait = settled(listener.waitForCallback('s'));
    const answer = await get('127.0.0.1', listener.port, '/callback?error=access_denied&state=s');
    expect(answer.body).toContain('Sign-in was denied');
    const outcome = await wait;
    const error = 'error' in outcome ? outcome.error : undefined;
    expect(error).toBeInstanceOf(OAuthFlowError);
    expect(error).toMatchObject({ code: 'access_denied' });
  });

  it('escapes what the query carries into the page', async () => {
    const listener = await listen();
    const wait = settled(listener.waitForCallback('s'));
    const answer = await get(
      '127.0.0.1',
      listener.port,
      `/callback?error=${encodeURIComponent('<script>x</script>')}&state=s`,
    );
    expect(answer.body).not.toContain('<script>');
    expect(await wait).toMatchObject({ error: { code: 'access_denied' } });
  });

  it('ignores other paths, other methods and foreign Host headers, and still takes the real callback', async () => {
    const listener = await listen();
    const wait = settled(listener.waitForCallback('s'));
    expect((await get('127.0.0.1', listener.port, '/favicon.ico')).status).toBe(404);
    expect((await get('127.0.0.1', listener.port, '/callback?code=c&state=s', { method: 'POST' })).status).toBe(405);
    const rebound = await get('127.0.0.1', listener.port, '/callback?code=c&state=s', {
      hostHeader: `evil.example:${listener.port}`,
    });
    expect(rebound.status).toBe(400);
    expect((await get('127.0.0.1', listener.port, '/callback?code=c&state=s')).status).toBe(200);
    expect(await wait).toEqual({ value: { code: 'c', state: 's' } });
  });

  it('refuses a callback that arrives before the state is known', async () => {
    const listener = await listen();
    expect((await get('127.0.0.1', listener.port, '/callback?code=c&state=s')).status).toBe(400);
    expect(await settled(listener.waitForCallback('s'))).toMatchObject({ error: { code: 'state_mismatch' } });
  });

  it('ends the wait with the signal reason and closes its sockets', async () => {
    const controller = new AbortController();
    const listener = await listen({ signal: controller.signal });
    const wait = settled(listener.waitForCallback('s'));
    controller.abort(new Error('stop waiting'));
    expect(await wait).toEqual({ error: new Error('stop waiting') });
    expect(await reachable('127.0.0.1', listener.port)).toBe(false);
  });

  it('does not start with an aborted signal', async () => {
    await expect(startLoopbackListener({ signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already');
  });

  it('listens on a given port, and reports a taken one as invalid_config', async () => {
    const first = await listen();
    await first.close();
    const listener = await listen({ port: first.port });
    expect(listener.port).toBe(first.port);
    await expect(startLoopbackListener({ port: first.port })).rejects.toMatchObject({
      code: 'invalid_config',
      message: expect.stringContaining(`Cannot listen on port ${first.port}`),
    });
    await expect(startLoopbackListener({ port: 70_000 })).rejects.toMatchObject({ code: 'invalid_config' });
  });
});
