/**
 * A small real HTTP server on 127.0.0.1 for answers the emulator does not give: each request is
 * recorded and handed to `handler`, whose `Response` is written back. `forwardTo()` passes a request
 * on to the emulator; `revokedAs403()` turns the emulator's 401 for a revoked token into the API's
 * 403 for one.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface Received {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TestServer {
  url: string;
  requests: Received[];
  close(): Promise<void>;
}

export type Handler = (request: Received) => Response | Promise<Response>;

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const received: Received = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(received);
      try {
        const response = await handler(received);
        const body = Buffer.from(await response.arrayBuffer());
        const headers: Record<string, string> = {};
        response.headers.forEach((value, name) => {
          if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'content-encoding') {
            headers[name] = value;
          }
        });
        res.writeHead(response.status, { ...headers, 'content-length': String(body.length) });
        res.end(body);
      } catch (error) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const FORWARDED = ['authorization', 'x-api-key', 'anthropic-beta', 'anthropic-version', 'content-type', 'user-agent'];

/** Sends `request` on to `base` (the emulator) and returns its answer. */
export function forwardTo(base: string, request: Received): Promise<Response> {
  const headers = new Headers();
  for (const name of FORWARDED) {
    const value = request.headers[name];
    if (typeof value === 'string') headers.set(name, value);
  }
  return fetch(`${base}${request.url}`, {
    method: request.method,
    headers,
    body: request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body,
  });
}

/** The API's answer to a revoked OAuth token (HTTP 403), as reported by its users in 2026. */
export const REVOKED_403_BODY = {
  type: 'error',
  error: { type: 'permission_error', message: 'OAuth token has been revoked. Please obtain a new token.' },
  request_id: 'req_011CX6Cwz8rJqKAK3zdtL3aC',
};

export function revoked403(): Response {
  return new Response(JSON.stringify(REVOKED_403_BODY), {
    status: 403,
    headers: { 'content-type': 'application/json', 'request-id': REVOKED_403_BODY.request_id },
  });
}

/** A handler in front of the emulator that answers a revoked token as the API does: 403, not 401. */
export function revokedAs403(base: string): Handler {
  return async (request) => {
    const response = await forwardTo(base, request);
    if (response.status !== 401) return response;
    const body = (await response.clone().json()) as { error?: { message?: string } };
    return body.error?.message === 'OAuth token has been revoked' ? revoked403() : response;
  };
}
