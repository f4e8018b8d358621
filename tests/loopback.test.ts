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

  it('refuses a wrong state with an error page, and keeps waiting for the right one', async () => {
    const strays: number[] = [];
    const listener = await listen({ onStrayCallback: () => strays.push(1) });
    const wait = settled(listener.waitForCallback('expected'));
    const answer = await get('127.0.0.1', listener.port, '/callback?code=c&state=forged');
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('does not belong to the login waiting in your terminal');
    expect(answer.body).toContain('The terminal is still waiting');
    expect(strays).toHaveLength(1);
    expect(await reachable('127.0.0.1', listener.port)).toBe(true);
    expect((await get('127.0.0.1', listener.port, '/callback?code=real&state=expected')).status).toBe(200);
    expect(await wait).toEqual({ value: { code: 'real', state: 'expected' } });
  });

  it('refuses a missing, repeated or near-miss state the same way, even with a code', async () => {
    const strays: number[] = [];
    const listener = await listen({ onStrayCallback: () => strays.push(1) });
    const wait = settled(listener.waitForCallback('expected'));
    for (const query of [
      'code=c',
      'code=c&state=',
      'code=c&state=expected&state=expected',
      'code=c&state=expected&state=other',
      'code=c&state=EXPECTED',
      'code=c&state=expected%00',
      'code=c&state=expected%20',
      'code=c&state=%E2%80%AEexpected',
      'code=c&State=expected',
      // A local program cannot deny the login either.
      'error=access_denied',
      'error=access_denied&state=forged',
    ]) {
      expect((await get('127.0.0.1', listener.port, `/callback?${query}`)).status, query).toBe(400);
    }
    expect(strays).toHaveLength(11);
    expect((await get('127.0.0.1', listener.port, '/callback?code=c&state=expected')).status).toBe(200);
    expect(await wait).toEqual({ value: { code: 'c', state: 'expected' } });
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

  it('refuses a callback that arrives before the state is known, and still takes the real one', async () => {
    const listener = await listen();
    expect((await get('127.0.0.1', listener.port, '/callback?code=c&state=s')).status).toBe(400);
    const wait = settled(listener.waitForCallback('s'));
    expect((await get('127.0.0.1', listener.port, '/callback?code=c&state=s')).status).toBe(200);
    expect(await wait).toEqual({ value: { code: 'c', state: 's' } });
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

/**
 * Sends `bytes` over a raw TCP socket and resolves the status line of the answer, or `'closed'`
 * when the server closed the connection without one. Whatever the bytes, nothing must crash.
 */
function raw(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end(bytes));
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(received === '' ? 'closed' : (received.split('\r\n')[0] ?? '')));
  });
}

const requestLine = (port: number, target: string, extra = ''): string =>
  `GET ${target} HTTP/1.1\r\nHost: localhost:${port}\r\n${extra}Connection: close\r\n\r\n`;

describe('startLoopbackListener: hostile requests from other local programs (issue 10 item 5)', () => {
  it.each([
    ['GET //[/callback (a target that does not parse)', (port: number) => requestLine(port, '//[/callback')],
    ['GET http://%zz/callback (a bad absolute form)', (port: number) => requestLine(port, 'http://%zz/callback')],
    ['GET http://[::1/callback', (port: number) => requestLine(port, 'http://[::1/callback')],
    ['GET //%/callback', (port: number) => requestLine(port, '//%/callback')],
  ])('%s: 400, and the listener keeps going', async (_label, bytes) => {
    const listener = await listen();
    const wait = settled(listener.waitForCallback('s'));
    expect(await raw(listener.port, bytes(listener.port))).toBe('HTTP/1.1 400 Bad Request');
    expect((await get('127.0.0.1', listener.port, '/callback?code=c&state=s')).status).toBe(200);
    expect(await wait).toEqual({ value: { code: 'c', state: 's' } });
  });

  it('answers every kind of garbage and still takes the real callback', async () => {
    const strays: number[] = [];
    const listener = await listen({ onStrayCallback: () => strays.push(1) });
    const wait = settled(listener.waitForCallback('s'));
    const { port } = listener;
    const cases: [string, string | Buffer, RegExp][] = [
      ['a NUL byte in the target', requestLine(port, '/callback\u0000?code=c&state=s'), /^HTTP\/1\.1 400 /],
      ['%00 in the path', requestLine(port, '/call%00back?code=c&state=s'), /^HTTP\/1\.1 404 /],
      ['a 1 MB query', requestLine(port, `/callback?code=c&state=s&pad=${'a'.repeat(1 << 20)}`), /^HTTP\/1\.1 431 /],
      [
        'a 20 KB header',
        requestLine(port, '/callback?code=c&state=s', `X-Pad: ${'a'.repeat(20_000)}\r\n`),
        /^HTTP\/1\.1 431 /,
      ],
      [
        '2000 headers',
        requestLine(port, '/callback?code=c&state=x', 'X-A: 1\r\n'.repeat(2000)),
        /^HTTP\/1\.1 (400|431) /,
      ],
      ['not HTTP at all', 'hello\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['binary noise', Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x80]), /^HTTP\/1\.1 400 /],
      ['HEAD /callback', requestLine(port, '/callback?code=c&state=s').replace('GET', 'HEAD'), /^HTTP\/1\.1 405 /],
      [
        'POST /callback with a body',
        `POST /callback?code=c&state=s HTTP/1.1\r\nHost: localhost:${port}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`,
        /^HTTP\/1\.1 405 /,
      ],
      ['OPTIONS *', `OPTIONS * HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`, /^HTTP\/1\.1 404 /],
      ['CONNECT', `CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n`, /^closed$/],
      [
        'an Upgrade to websocket',
        requestLine(port, '/callback?code=c&state=x', 'Upgrade: websocket\r\nConnection: Upgrade\r\n'),
        /^(HTTP\/1\.1 400 |closed$)/,
      ],
      ['no Host header', 'GET /callback?code=c&state=s HTTP/1.1\r\nConnection: close\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['HTTP/1.0 without Host', 'GET /callback?code=c&state=s HTTP/1.0\r\n\r\n', /^HTTP\/1\.1 400 /],
      [
        'a foreign Host in the absolute form',
        requestLine(port, `http://evil.example:${port}/callback?code=c&state=s`),
        /^HTTP\/1\.1 400 /,
      ],
      ['unicode in the target', requestLine(port, '/callback?code=c&state=ß'), /^HTTP\/1\.1 400 /],
      ['a wrong state', requestLine(port, '/callback?code=c&state=x'), /^HTTP\/1\.1 400 /],
      ['a request cut off mid-line', 'GET /callback?code=c&st', /^(HTTP\/1\.1 400 |closed$)/],
    ];
    for (const [label, bytes, expected] of cases) {
      expect(await raw(port, bytes), label).toMatch(expected);
    }
    expect(strays.length).toBeGreaterThanOrEqual(1);
    expect((await get('127.0.0.1', port, '/callback?code=c&state=s')).status).toBe(200);
    expect(await wait).toEqual({ value: { code: 'c', state: 's' } });
  });

  it('answers 50 concurrent stray callbacks with 400 and keeps waiting', async () => {
    let strays = 0;
    const listener = await listen({
      onStrayCallback: () => {
        strays++;
      },
    });
    const wait = settled(listener.waitForCallback('s'));
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => get('127.0.0.1', listener.port, `/callback?code=c&state=stray${i}`)),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(400));
    expect(strays).toBe(50);
    expect((await get('127.0.0.1', listener.port, '/callback?code=c&state=s')).status).toBe(200);
    expect(await wait).toEqual({ value: { code: 'c', state: 's' } });
  });

  it('a slow client holding half a request does not block the callback, and is dropped on close', async () => {
    const listener = await listen();
    const wait = settled(listener.waitForCallback('s'));
    const slow = connect({ host: '127.0.0.1', port: listener.port });
    slow.on('error', () => {});
    const slowClosed = new Promise<void>((resolve) => slow.once('close', () => resolve()));
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    slow.write(`GET /callback?code=c&state=s HTTP/1.1\r\nHost: localhost:${listener.port}\r\nX-Slow: `);
    expect((await get('127.0.0.1', listener.port, '/callback?code=c&state=s')).status).toBe(200);
    expect(await wait).toEqual({ value: { code: 'c', state: 's' } });
    await slowClosed;
  });

  it('a stray-callback hook that throws does not take the listener down', async () => {
    const listener = await listen({
      onStrayCallback: () => {
        throw new Error('hook failed');
      },
    });
    const wait = settled(listener.waitForCallback('s'));
    expect((await get('127.0.0.1', listener.port, '/callback?code=c&state=x')).status).toBe(400);
    expect((await get('127.0.0.1', listener.port, '/callback?code=c&state=s')).status).toBe(200);
    expect(await wait).toEqual({ value: { code: 'c', state: 's' } });
  });

  it('with the right state, a repeated code ends the wait with invalid_code (only this login knows the state)', async () => {
    const listener = await listen();
    const wait = settled(listener.waitForCallback('s'));
    expect((await get('127.0.0.1', listener.port, '/callback?code=a&code=b&state=s')).status).toBe(400);
    expect(await wait).toMatchObject({ error: { code: 'invalid_code' } });
  });
});
