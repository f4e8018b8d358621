/**
 * The `fetch` of the CLI's own requests (the token endpoint, the account and Console endpoints), over
 * `node:http` and `node:https`.
 *
 * Why not the global `fetch`: a command makes one or two requests, then exits. Node's `fetch`
 * (undici) compiles its WebAssembly HTTP parser on the first request, and the process then waits at
 * exit for V8's background compilation of it: about 300 ms of CPU in all, more than twice the rest of
 * a `token` that refreshes (bench §5). Even its `Headers` and `Response` load undici, so the answer
 * is a `ResponseLike` (status, headers, body stream: what the package reads). This does what those
 * calls need, the way `fetch` does it:
 *
 * - On the wire, the headers Node's `fetch` adds where the caller set none (`accept`,
 *   `accept-language`, `sec-fetch-mode`, `user-agent: node`, `accept-encoding: gzip, deflate`), so a
 *   server sees the same request; no connection is kept alive, so the process exits when done.
 * - Redirects are never followed: every caller asks for `redirect: 'manual'` and gets the 3xx as it
 *   came; any other mode is a TypeError, not a silent difference.
 * - The body streams, decoded per `content-encoding` (gzip, deflate, br), so the callers' size caps
 *   still stop a runaway body; a 204, 205 or 304 (or a HEAD) has none.
 * - Failures reject as `fetch`'s do: `TypeError('fetch failed', { cause })` for the transport (the
 *   cause carries the system error's `code`) and for a status outside 200–599, `signal.reason` when
 *   the signal aborts, and a body cut off midway errors its stream with `TypeError('terminated')`.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { FetchLike, HeadersLike, ResponseLike } from '../types.js';

/**
 * A built-in, required when first needed: not at start (a fresh `token` never sends anything), and
 * not through `import()`, which in the CommonJS CLI would start the ESM loader for it.
 */
const builtin = <T>(name: string): T => createRequire('/')(name) as T;

/** What Node's `fetch` sends when the caller did not (Node 20's undici, checked by tests/http-fetch.test.ts). */
const FETCH_DEFAULT_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['accept', '*/*'],
  ['accept-language', '*'],
  ['sec-fetch-mode', 'cors'],
  ['user-agent', 'node'],
  ['accept-encoding', 'gzip, deflate'],
];

/** The codings decoded (as `fetch` does); any other leaves the body as it came. */
const KNOWN_CODINGS = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

/** Statuses whose `Response` has no body. */
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

const failed = (cause: unknown): TypeError => new TypeError('fetch failed', { cause });

/** The request's headers, lowercased, from what `RequestInit` allows: an object, pairs, or a `Headers`. */
function requestHeaders(given: RequestInit['headers']): Record<string, string> {
  const headers: Record<string, string> = {};
  const add = (value: string, name: string): void => {
    headers[name.toLowerCase()] = value;
  };
  if (given === undefined || given === null) return headers;
  if (Array.isArray(given)) for (const [name, value] of given) add(String(value), String(name));
  else if (typeof (given as Headers).forEach === 'function') (given as Headers).forEach(add);
  else for (const [name, value] of Object.entries(given)) add(String(value), name);
  return headers;
}

/** An answer's headers, as `Headers` reads them: by lowercase name, repeated ones joined by `, `. */
class AnswerHeaders implements HeadersLike {
  readonly #values = new Map<string, string[]>();

  constructor(raw: readonly string[]) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = (raw[i] ?? '').toLowerCase();
      const list = this.#values.get(name);
      if (list) list.push(raw[i + 1] ?? '');
      else this.#values.set(name, [raw[i + 1] ?? '']);
    }
  }

  get(name: string): string | null {
    return this.#values.get(name.toLowerCase())?.join(', ') ?? null;
  }

  forEach(callback: (value: string, name: string) => void): void {
    for (const name of [...this.#values.keys()].sort()) callback(this.get(name) ?? '', name);
  }
}

/** The body to send, and the content type `fetch` gives it when the caller sets none. */
function bodyOf(body: RequestInit['body']): { bytes: string | Uint8Array; type?: string } | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return { bytes: body, type: 'text/plain;charset=UTF-8' };
  if (body instanceof Uint8Array) return { bytes: body };
  if (body instanceof URLSearchParams) {
    return { bytes: body.toString(), type: 'application/x-www-form-urlencoded;charset=UTF-8' };
  }
  throw new TypeError('httpFetch sends a string, bytes or URLSearchParams body only');
}

/** The body stream decoded per `content-encoding` (codings applied in order, so undone in reverse). */
function decoded(response: IncomingMessage, method: string): Readable {
  const codings = (response.headers['content-encoding'] ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity')
    .reverse();
  if (codings.length === 0 || method === 'HEAD' || NULL_BODY_STATUS.has(response.statusCode ?? 0)) return response;
  // An unknown coding anywhere: the body is left as it came, as `fetch` leaves it.
  if (codings.some((coding) => !KNOWN_CODINGS.has(coding))) return response;
  const zlib = builtin<typeof import('node:zlib')>('node:zlib');
  const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  const decoders = codings.map((coding) =>
    coding === 'br'
      ? zlib.createBrotliDecompress()
      : coding === 'deflate'
        ? zlib.createInflate(flush)
        : zlib.createGunzip(flush),
  );
  // `pipeline` destroys every stage when one fails (a body that is not gzip after all): the last
  // stage errors, and the request goes with it.
  const { pipeline } = builtin<typeof import('node:stream')>('node:stream');
  pipeline([response, ...decoders], () => {});
  return decoders.at(-1) ?? response;
}

/**
 * `stream` as a web stream that reads only as fast as it is read (the callers' caps rely on it).
 * It ends once: at the body's end, at its first error, when it closes without either (a body cut
 * off, or destroyed by an abort), or when the reader cancels; the request goes with any but the end.
 */
function webStream(stream: Readable, request: ClientRequest): ReadableStream<Uint8Array> {
  let finished = false;
  const finish = (): boolean => {
    if (finished) return false;
    finished = true;
    return true;
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      stream.on('data', (chunk: Buffer) => {
        if (finished) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) stream.pause();
      });
      stream.once('end', () => {
        if (finish()) controller.close();
      });
      stream.on('error', (error) => {
        if (finish()) controller.error(new TypeError('terminated', { cause: error }));
        request.destroy();
      });
      stream.once('close', () => {
        if (finish()) controller.error(new TypeError('terminated'));
        request.destroy();
      });
      stream.pause();
    },
    pull() {
      stream.resume();
    },
    cancel() {
      finished = true;
      stream.destroy();
      request.destroy();
    },
  });
}

export const httpFetch: FetchLike = async (input, init) => {
  if (init.redirect !== 'manual') throw new TypeError("httpFetch never follows redirects: pass redirect: 'manual'");
  const url = new URL(input);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw failed(new Error(`httpFetch speaks http: and https: only, not ${url.protocol}`));
  }
  const signal = init.signal ?? undefined;
  signal?.throwIfAborted();
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = requestHeaders(init.headers);
  for (const [name, value] of FETCH_DEFAULT_HEADERS) headers[name] ??= value;
  const body = bodyOf(init.body);
  if (body?.type !== undefined) headers['content-type'] ??= body.type;
  // As `fetch` frames a request: a length for a body, `0` for a POST, PUT or PATCH without one, else nothing.
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body.bytes));
  else if (method === 'POST' || method === 'PUT' || method === 'PATCH') headers['content-length'] = '0';
  const { request: send } = builtin<typeof import('node:http')>(url.protocol === 'https:' ? 'node:https' : 'node:http');

  return new Promise<ResponseLike>((resolve, reject) => {
    let settled = false;
    let answer: Readable | undefined;
    const request = send(url, { method, headers, agent: false });
    // Never chunked, as `fetch` never is for these bodies: a DELETE without a body has no framing at all.
    if (body === undefined) request.useChunkedEncodingByDefault = false;
    const onAbort = (): void => {
      const reason: unknown = signal?.reason;
      request.destroy();
      answer?.destroy(reason instanceof Error ? reason : undefined);
      if (!settled) {
        settled = true;
        reject(reason);
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => signal?.removeEventListener('abort', onAbort);
    // A 101 (a server switching protocols on us): Node emits neither `response` nor `error` for it.
    request.on('upgrade', (_response, socket) => {
      socket.destroy();
      done();
      if (settled) return;
      settled = true;
      reject(failed(new Error('the server answered HTTP 101 (switching protocols)')));
    });
    request.on('error', (error) => {
      done();
      if (settled) return;
      settled = true;
      reject(failed(error));
    });
    request.once('response', (response) => {
      response.once('close', done);
      // Errors reach the caller through the body stream; one nobody reads must not crash the process.
      response.on('error', () => {});
      if (settled) {
        response.destroy();
        return;
      }
      settled = true;
      const status = response.statusCode ?? 0;
      if (status < 200 || status > 599) {
        request.destroy();
        reject(failed(new RangeError(`the server answered with HTTP status ${status}`)));
        return;
      }
      const hasBody = method !== 'HEAD' && !NULL_BODY_STATUS.has(status);
      const stream = decoded(response, method);
      answer = stream;
      if (!hasBody) stream.resume();
      resolve({
        status,
        headers: new AnswerHeaders(response.rawHeaders),
        body: hasBody ? webStream(stream, request) : null,
      });
    });
    request.end(body?.bytes);
  });
};
