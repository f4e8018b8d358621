/**
 * The CLI's own `fetch` (src/cli/http-fetch.ts), against real servers on 127.0.0.1: the same request
 * on the wire as Node's `fetch`, answers read as the package reads them (status, headers, a body
 * stream under a cap), redirects never followed, and every failure rejecting as `fetch` rejects.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { join } from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { httpFetch } from '../src/cli/http-fetch.js';
import { isRedirect, readCappedText } from '../src/http-body.js';
import { makeTempDir, rejectionOf } from './helpers/fixtures.js';

interface Seen {
  method: string;
  url: string;
  headers: [string, string][];
  body: string;
}

const servers: (Server | TcpServer)[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    (server as Server).closeAllConnections?.();
    server.close();
  }
});

/** An HTTP server on 127.0.0.1 answering with `handle`; what it received. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const headers: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        headers.push([(req.rawHeaders[i] ?? '').toLowerCase(), req.rawHeaders[i + 1] ?? '']);
      }
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers, body });
      handle(req, res);
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

/** A TCP server that writes `raw` to every connection, then `then` (close, or hold). */
async function rawServer(raw: string, then: 'close' | 'hold' = 'close') {
  const server = createTcpServer((socket) => {
    socket.once('data', () => {
      socket.write(raw);
      if (then === 'close') socket.end();
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const post = (body: string, extra: RequestInit = {}): RequestInit => ({
  method: 'POST',
  redirect: 'manual',
  headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': 'anthropic-oauth/test' },
  body,
  ...extra,
});

describe('on the wire', () => {
  it('sends what Node’s fetch sends (but keep-alive), with or without the caller’s headers', async () => {
    const { url, seen } = await serve((_req, res) => res.end('{}'));
    const inits: RequestInit[] = [
      post('{"a":1}'),
      { method: 'GET', redirect: 'manual' },
      // The Console's create_api_key: a POST without a body.
      { method: 'POST', redirect: 'manual', headers: { Authorization: 'Bearer x' } },
      { method: 'PUT', redirect: 'manual' },
      { method: 'PATCH', redirect: 'manual' },
      { method: 'DELETE', redirect: 'manual' },
      { method: 'POST', redirect: 'manual', body: 'plain' },
      { method: 'POST', redirect: 'manual', body: new URLSearchParams({ a: '1' }) },
      { method: 'POST', redirect: 'manual', body: new TextEncoder().encode('bytes') },
    ];
    for (const init of inits) {
      await (await fetch(`${url}/x?q=1`, init)).text();
      await readCappedText(await httpFetch(`${url}/x?q=1`, init), 1024);
    }
    expect(seen).toHaveLength(inits.length * 2);
    for (let i = 0; i < seen.length; i += 2) {
      const [theirs, ours] = [seen[i], seen[i + 1]];
      const withoutConnection = (seen: Seen | undefined) => ({
        ...seen,
        headers: seen?.headers.filter(([name]) => name !== 'connection').sort(),
      });
      expect(withoutConnection(ours)).toEqual(withoutConnection(theirs));
      // It keeps no connection: the process may exit as soon as the command is done.
      expect(ours?.headers).toContainEqual(['connection', 'close']);
    }
  });

  it('takes the headers as an object, pairs or a Headers, lowercased on the wire', async () => {
    const { url, seen } = await serve((_req, res) => res.end());
    await httpFetch(url, { redirect: 'manual', headers: [['X-One', '1']] });
    await httpFetch(url, { redirect: 'manual', headers: new Headers({ 'X-Two': '2' }) });
    expect(seen[0]?.headers).toContainEqual(['x-one', '1']);
    expect(seen[1]?.headers).toContainEqual(['x-two', '2']);
  });

  it('never follows a redirect, and refuses any mode but manual before sending anything', async () => {
    const { url, seen } = await serve((_req, res) => {
      res.writeHead(302, { Location: '/elsewhere' });
      res.end('moved');
    });
    const answer = await httpFetch(`${url}/token`, post('{}'));
    expect(answer.status).toBe(302);
    expect(answer.headers.get('location')).toBe('/elsewhere');
    expect(seen.map((s) => s.url)).toEqual(['/token']);
    for (const redirect of [undefined, 'follow', 'error'] as const) {
      const error = await rejectionOf(TypeError, httpFetch(url, { redirect }));
      expect(error.message).toMatch(/never follows redirects/);
    }
    expect(seen).toHaveLength(1);
  });
});

describe('the answer', () => {
  it('status, headers by any case with repeats joined, and the body', async () => {
    const { url } = await serve((_req, res) => {
      res.setHeader('Retry-After', '30');
      res.setHeader('X-Many', ['a', 'b']);
      res.writeHead(429, { 'Content-Type': 'application/json' });
      res.end('{"error":"slow_down"}');
    });
    const answer = await httpFetch(url, post('{}'));
    expect(answer.status).toBe(429);
    expect(answer.headers.get('RETRY-AFTER')).toBe('30');
    expect(answer.headers.get('x-many')).toBe('a, b');
    expect(answer.headers.get('absent')).toBeNull();
    const names: string[] = [];
    answer.headers.forEach((_value, name) => {
      names.push(name);
    });
    expect(names).toEqual([...names].sort());
    expect(names).toContain('retry-after');
    expect(await readCappedText(answer, 1024)).toBe('{"error":"slow_down"}');
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ])('decodes a %s body', async (coding, encode) => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Encoding': coding });
      res.end(encode(Buffer.from('{"access_token":"x"}')));
    });
    expect(await readCappedText(await httpFetch(url, post('{}')), 1024)).toBe('{"access_token":"x"}');
  });

  it('has no body for 204 and 304, nor for HEAD', async () => {
    const { url } = await serve((req, res) => {
      res.writeHead(req.url === '/304' ? 304 : req.method === 'HEAD' ? 200 : 204);
      res.end();
    });
    expect((await httpFetch(`${url}/204`, post(''))).body).toBeNull();
    expect((await httpFetch(`${url}/304`, { redirect: 'manual' })).body).toBeNull();
    expect((await httpFetch(url, { method: 'HEAD', redirect: 'manual' })).body).toBeNull();
  });

  it('a body is read only as it is read, and past the cap the rest is never read, the connection closed', async () => {
    let written = 0;
    let closed = false;
    const { url } = await serve((_req, res) => {
      res.writeHead(200);
      res.on('close', () => {
        closed = true;
      });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = (): void => {
        while (!closed && written < 512 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    });
    const answer = await httpFetch(url, post('{}'));
    // Not read for a while: what is not read stays in the server (TCP backpressure), not in memory here.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(written).toBeLessThan(16 * 1024 * 1024);
    expect(await readCappedText(answer, 1024 * 1024)).toBeNull();
    await expect.poll(() => closed).toBe(true);
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('the body, read or not', () => {
  it('a redirect with a small body, cancelled unread after it fully arrived: no crash, the 3xx as it came', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(302, { Location: '/v1/oauth/token/' });
      res.end('<a>Found</a>');
    });
    for (let i = 0; i < 5; i++) {
      // Cancelled at once, and after the whole body and its end arrived.
      expect(await isRedirect(await httpFetch(url, post('{}')))).toBe(true);
      const answer = await httpFetch(url, post('{}'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await isRedirect(answer)).toBe(true);
    }
    // And past a cap, on the last chunk.
    const small = await serve((_req, res) => res.end('x'.repeat(100)));
    const answer = await httpFetch(small.url, post('{}'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await readCappedText(answer, 10)).toBeNull();
  });

  it('an unknown coding anywhere leaves the body as it came, as fetch does', async () => {
    const { url } = await serve((_req, res) => {
      // Decoding would start with gzip (the last coding applied) and fail on this body.
      res.writeHead(200, { 'Content-Encoding': 'foo, gzip' });
      res.end('{"as":"it came"}');
    });
    expect(await readCappedText(await httpFetch(url, post('{}')), 4096)).toBe('{"as":"it came"}');
  });

  it('a body that is not the gzip it claims: terminated at once, and the connection closed (no wait for a timeout)', async () => {
    let socketClosed = false;
    const { url } = await serve((req, res) => {
      req.socket.on('close', () => {
        socketClosed = true;
      });
      res.writeHead(200, { 'Content-Encoding': 'gzip' });
      // Not gzip, and the server keeps the body open.
      res.write('this is not gzip at all, and more is coming');
    });
    const answer = await httpFetch(url, post('{}', { signal: AbortSignal.timeout(30_000) }));
    const error = await rejectionOf(TypeError, readCappedText(answer, 4096));
    expect(error.message).toBe('terminated');
    await expect.poll(() => socketClosed, { timeout: 2_000 }).toBe(true);
  });

  it('aborted while the body is read, with a reason that is not an Error: the read rejects, never hangs', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200);
      res.write('{"a":');
    });
    const controller = new AbortController();
    const answer = await httpFetch(url, post('{}', { signal: controller.signal }));
    const reading = readCappedText(answer, 4096);
    controller.abort('stop');
    await expect(reading).rejects.toThrow(TypeError);
  });
});

describe('failures reject as fetch rejects', () => {
  it('a 101 (switching protocols) is fetch failed, as fetch has it; the promise never just stays pending', async () => {
    const url = await rawServer(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      'hold',
    );
    const error = await rejectionOf(TypeError, httpFetch(url, post('{}')));
    expect(error.message).toBe('fetch failed');
  });

  it('nothing listening: TypeError fetch failed, the cause naming ECONNREFUSED', async () => {
    const { url, server } = await serve(() => {});
    server.close();
    await once(server, 'close');
    const error = await rejectionOf(TypeError, httpFetch(url, post('{}')));
    expect(error.message).toBe('fetch failed');
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('a status outside 200–599 is fetch failed (RangeError cause), as fetch has it', async () => {
    const url = await rawServer('HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n');
    const error = await rejectionOf(TypeError, httpFetch(url, post('{}')));
    expect(error.message).toBe('fetch failed');
    expect(error.cause).toBeInstanceOf(RangeError);
  });

  it('a body cut off midway errors the stream: TypeError terminated', async () => {
    const url = await rawServer('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"access_tok');
    const answer = await httpFetch(url, post('{}'));
    const error = await rejectionOf(TypeError, readCappedText(answer, 4096));
    expect(error.message).toBe('terminated');
  });

  it('an aborted signal: rejected before sending, while waiting, and the body while reading', async () => {
    const { url, seen } = await serve((req, res) => {
      if (req.url === '/slow-body') {
        res.writeHead(200);
        res.write('{"a":');
      }
      // Otherwise never answers.
    });
    const before = AbortSignal.abort(new Error('stopped first'));
    await expect(httpFetch(url, post('{}', { signal: before }))).rejects.toThrow('stopped first');
    expect(seen).toHaveLength(0);

    const timeout = AbortSignal.timeout(100);
    const waiting = await rejectionOf(DOMException, httpFetch(`${url}/never`, post('{}', { signal: timeout })));
    expect(waiting.name).toBe('TimeoutError');

    const controller = new AbortController();
    const answer = await httpFetch(`${url}/slow-body`, post('{}', { signal: controller.signal }));
    const reading = readCappedText(answer, 4096);
    controller.abort(new Error('gave up'));
    await expect(reading).rejects.toThrow(TypeError);
  });

  it('https: a certificate nobody vouches for is refused (fetch failed), never sent to', async () => {
    const temp = await makeTempDir('anthropic-oauth-https-');
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-keyout',
          join(temp.dir, 'key.pem'),
          '-out',
          join(temp.dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      let requests = 0;
      const server = createHttpsServer(
        { key: await readFile(join(temp.dir, 'key.pem')), cert: await readFile(join(temp.dir, 'cert.pem')) },
        (_req, res) => {
          requests++;
          res.end('{}');
        },
      );
      servers.push(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/v1/oauth/token`;
      const error = await rejectionOf(TypeError, httpFetch(url, post('{"refresh_token":"x"}')));
      expect(error.message).toBe('fetch failed');
      expect((error.cause as { code?: string }).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
      expect(requests).toBe(0);
    } finally {
      await temp.cleanup();
    }
  });

  it('a scheme other than http and https is fetch failed, naming it', async () => {
    const error = await rejectionOf(TypeError, httpFetch('file:///etc/passwd', { redirect: 'manual' }));
    expect(error.message).toBe('fetch failed');
    expect(String((error.cause as Error).message)).toContain('file:');
  });
});
