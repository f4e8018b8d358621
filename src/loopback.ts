/**
 * The one-shot loopback listener that receives the browser's redirect (RFC 8252 §7.3, §8.3).
 *
 * Policy:
 * - Binds 127.0.0.1 and ::1 on the same port, never all interfaces. The redirect URI names
 *   `localhost`, which a browser may resolve to either; a machine without IPv6 keeps 127.0.0.1 only.
 * - Any local process can connect, so nothing a request carries can end the wait except the answer
 *   to this login: a `GET /callback` with exactly one `state`, equal to the expected one (RFC 6749
 *   §10.12). That one is answered once: its `code` is the result, `error=…` is `access_denied`, a
 *   malformed code `invalid_code`; the browser gets a small page, then the listener closes and any
 *   later request is refused at the TCP level.
 * - Every other request is answered and the wait goes on until the caller's timeout: a callback
 *   with a wrong, repeated or missing `state` gets an error page (400) and `onStrayCallback` is
 *   called; other paths 404; other methods (HEAD too) 405; a `Host` that is not loopback (DNS
 *   rebinding) 400; a request target that does not parse (`GET //[/callback`) 400; what Node's
 *   parser refuses (NUL bytes, oversized headers, a 1 MB query) its own 400/431. Nothing a request
 *   sends can throw out of the handler.
 * - Requests must arrive whole within 10 s (headers and body), so a slow client cannot pin sockets
 *   for the default minutes; every socket is destroyed when the listener closes.
 * - The pages never echo the code, are not cached, send no Referer and run no script.
 * - The caller's `AbortSignal` ends the wait with its reason; every socket is closed on the way out.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type AuthorizationCode, codeFromParams, isStateOf } from './callback.js';
import { errnoCode, OAuthFlowError } from './errors.js';
import { escapeHtml } from './html.js';

const CALLBACK_PATH = '/callback';
const IPV4 = '127.0.0.1';
const IPV6 = '::1';
/** A random port is retried when ::1 already has it in use (127.0.0.1 had it free). */
const MAX_PORT_ATTEMPTS = 5;
/** A request's headers and body must arrive within this; a browser sends them at once. */
const REQUEST_TIMEOUT_MS = 10_000;

type Outcome = { ok: true; value: AuthorizationCode } | { ok: false; error: unknown };

export interface LoopbackOptions {
  /** Port to listen on; default 0, a free port chosen by the system. */
  port?: number | undefined;
  /** Closes the listener and rejects the wait with the signal's reason. */
  signal?: AbortSignal | undefined;
  /**
   * Called for each callback refused because its `state` is wrong, repeated or missing (an older
   * tab, or another local program); the wait goes on. Never given the request's contents.
   */
  onStrayCallback?: (() => void) | undefined;
}

export interface LoopbackListener {
  readonly port: number;
  /** `http://localhost:PORT/callback`, to send as `redirect_uri`. */
  readonly redirectUri: string;
  /** The addresses actually bound: `127.0.0.1`, and `::1` when the machine has IPv6. */
  readonly addresses: readonly string[];
  /**
   * The code and state of the callback that carries `expectedState`. Rejects with `OAuthFlowError`
   * (`access_denied`, `invalid_code`) or the abort reason; callbacks with another state are refused
   * and do not end the wait. Call it once, before sending the browser.
   */
  waitForCallback(expectedState: string): Promise<AuthorizationCode>;
  /** Stops listening and drops every connection. Idempotent. */
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  connection: 'close',
} as const;

const PAGE_STYLE = [
  '  body { font: 16px/1.5 system-ui, sans-serif; background: #f5f4ef; color: #1f1e1d; margin: 0; }',
  '  main { max-width: 32rem; margin: 4rem auto; background: #fff; border-radius: 12px; padding: 2rem; }',
  '  h1 { font-size: 1.4rem; margin-top: 0; }',
].join('\n');

/**
 * The page the browser lands on: a title and one sentence, styled inline (the policy allows no other
 * source). `outcome` is a stable hook for tests (`#result[data-outcome]`).
 */
function page(outcome: 'success' | 'error', title: string, text: string): string {
  const head = [
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>\n${PAGE_STYLE}\n</style>`,
  ];
  const main = `<main id="result" data-outcome="${outcome}">\n<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>\n</main>`;
  return `<!doctype html>\n<html lang="en">\n<head>\n${head.join('\n')}\n</head>\n<body>\n${main}\n</body>\n</html>\n`;
}

function send(res: ServerResponse, status: number, html: string): Promise<void> {
  return new Promise((resolve) => {
    res.once('close', () => resolve());
    res.writeHead(status, PAGE_HEADERS);
    res.end(html);
  });
}

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra });
  res.end(`${text}\n`);
}

/**
 * Whether an authority (`Host` header, or the target's `host:port`) names this listener:
 * `localhost`, `127.0.0.1` or `[::1]` with our port. Anything else may be a DNS rebinding attack.
 */
function isListenerAuthority(authority: string | undefined, port: number): boolean {
  if (authority === undefined) return false;
  const allowed = ['localhost', IPV4, `[${IPV6}]`].map((name) => `${name}:${port}`);
  return allowed.includes(authority.toLowerCase());
}

/** The request target as a URL, or `undefined` when it does not parse (`//[`, `http://%zz/`). */
function targetOf(req: IncomingMessage, port: number): URL | undefined {
  try {
    return new URL(req.url ?? '/', `http://localhost:${port}`);
  } catch {
    return undefined;
  }
}

const STRAY_PAGE = page(
  'error',
  'This sign-in link does not match',
  'The answer does not belong to the login waiting in your terminal, so it was refused. The terminal is still waiting: finish signing in from the link it shows, or start the login again.',
);

function errorPage(error: unknown): { title: string; text: string } {
  if (error instanceof OAuthFlowError && error.code === 'access_denied') {
    return { title: 'Sign-in was denied', text: 'Nothing was shared. Return to the terminal to try again.' };
  }
  return {
    title: 'Sign-in failed',
    text: 'The answer from the sign-in page was incomplete. Return to the terminal and start the login again.',
  };
}

export async function startLoopbackListener(options: LoopbackOptions = {}): Promise<LoopbackListener> {
  const requested = options.port ?? 0;
  if (!Number.isInteger(requested) || requested < 0 || requested > 65_535) {
    throw new OAuthFlowError(
      'invalid_config',
      `The port must be an integer from 1 to 65535, or 0 for any free port (got ${requested}).`,
    );
  }
  options.signal?.throwIfAborted();

  const sockets = new Set<Socket>();
  let expectedState: string | undefined;
  let answered = false;
  let settle: { resolve(value: AuthorizationCode): void; reject(error: unknown): void } | undefined;
  let outcome: Outcome | undefined;

  function finish(result: Outcome): void {
    if (outcome) return;
    outcome = result;
    if (settle) {
      if (result.ok) settle.resolve(result.value);
      else settle.reject(result.error);
    }
  }

  let port = requested;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (answered) {
      // Between the answer and the close: refuse, and let the connection go.
      res.writeHead(410, { connection: 'close' }).end();
      return;
    }
    const url = targetOf(req, port);
    if (url === undefined) {
      plain(res, 400, 'Bad request target');
      return;
    }
    if (url.pathname !== CALLBACK_PATH) {
      plain(res, 404, 'Not found');
      return;
    }
    if (req.method !== 'GET') {
      plain(res, 405, 'Method not allowed', { allow: 'GET' });
      return;
    }
    // The Host header, and the target's own authority when it is in absolute form (`GET http://…`).
    if (!isListenerAuthority(req.headers.host, port) || !isListenerAuthority(url.host, port)) {
      plain(res, 400, 'Bad Host header');
      return;
    }
    if (!isStateOf(url.searchParams.getAll('state'), expectedState)) {
      // Not the answer to this login (an older tab, another program): refused, and the wait goes on.
      void send(res, 400, STRAY_PAGE);
      try {
        options.onStrayCallback?.();
      } catch {
        // A notification only: a failing hook must not end the listener (it runs outside any caller).
      }
      return;
    }
    answered = true;
    let result: Outcome;
    try {
      result = { ok: true, value: codeFromParams(url.searchParams) };
    } catch (error) {
      result = { ok: false, error };
    }
    const html = result.ok
      ? page('success', 'Signed in', 'You can close this tab and return to the terminal, which is finishing the login.')
      : page('error', errorPage(result.error).title, errorPage(result.error).text);
    // Settle once the page is out and the listener is closed: one callback, one answer.
    void send(res, result.ok ? 200 : 400, html).then(() => shutdown(result));
  };

  const servers: Server[] = [];
  const addresses: string[] = [];
  const track = (server: Server): Server => {
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    return server;
  };

  // Loaded here, not at the top: node:http is a third of what importing the package costs.
  const { createServer: createHttpServer } = await import('node:http');
  const createServer = (onRequest: typeof handler): Server =>
    createHttpServer(
      { headersTimeout: REQUEST_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
      onRequest,
    );
  for (let attempt = 1; ; attempt++) {
    const v4 = track(createServer(handler));
    try {
      await listen(v4, requested, IPV4);
    } catch (error) {
      if (errnoCode(error) === 'EADDRINUSE' || errnoCode(error) === 'EACCES') {
        throw new OAuthFlowError(
          'invalid_config',
          `Cannot listen on port ${requested} of 127.0.0.1 (${errnoCode(error)}). Choose another port, or let the system pick one.`,
          { cause: error },
        );
      }
      throw error;
    }
    port = (v4.address() as AddressInfo).port;
    const v6 = track(createServer(handler));
    try {
      await listen(v6, port, IPV6);
      servers.push(v4, v6);
      addresses.push(IPV4, IPV6);
      break;
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') {
        // No IPv6 on this machine: browsers will not try ::1 either.
        servers.push(v4);
        addresses.push(IPV4);
        break;
      }
      await closeServer(v4);
      if (code === 'EADDRINUSE' && requested === 0 && attempt < MAX_PORT_ATTEMPTS) continue;
      throw new OAuthFlowError(
        'invalid_config',
        `Cannot listen on port ${port} of ::1 (${code ?? 'error'}). Choose another port, or let the system pick one.`,
        { cause: error },
      );
    }
  }

  let closing: Promise<void> | undefined;
  /** Stops listening, drops every connection, then settles the wait with `result`. */
  function shutdown(result: Outcome): Promise<void> {
    closing ??= (async () => {
      options.signal?.removeEventListener('abort', onAbort);
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map(closeServer));
      finish(result);
    })();
    return closing;
  }
  const close = (): Promise<void> =>
    shutdown({ ok: false, error: new DOMException('The login listener was closed.', 'AbortError') });
  const onAbort = (): void => {
    void shutdown({ ok: false, error: options.signal?.reason });
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // Aborted while binding: the event has fired already.
  if (options.signal?.aborted) onAbort();

  return {
    port,
    redirectUri: new URL(`http://localhost:${port}${CALLBACK_PATH}`).toString(),
    addresses,
    waitForCallback(state: string): Promise<AuthorizationCode> {
      if (settle) throw new Error('waitForCallback() may be called only once.');
      expectedState = state;
      return new Promise<AuthorizationCode>((resolve, reject) => {
        settle = { resolve, reject };
        if (outcome?.ok) resolve(outcome.value);
        else if (outcome) reject(outcome.error);
      });
    },
    close,
  };
}
