/**
 * The emulator's HTTP server: listens on 127.0.0.1, and for each request logs it, reads the body
 * (1 MiB at most), applies the endpoint's queued fault if any, runs the route and writes the reply
 * in one write, then tells `onRequest` (if given). Keep-alive on; `close()` destroys every connection, hanging ones included.
 *
 * It knows no endpoint: those are the route table's (`routes/index.ts`).
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { copyHeaders, mediaType, type Reply, type RouteRequest, readBody, tryParseJson } from './http.js';
import { dispatch, findRoute, tooLarge } from './routes/index.js';
import { type EmulatorState, setOrigin } from './state.js';
import type { EmulatorRequest } from './types.js';
import { HOST } from './wire.js';

export interface EmulatorServer {
  close(): Promise<void>;
}

function send(res: ServerResponse, entry: EmulatorRequest, reply: Reply, emulator: EmulatorState): void {
  entry.status = reply.status;
  res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
  res.end(reply.body);
  emulator.settings.onRequest?.(entry);
}

/** Runs the route, counting every 401 it produces. */
function answer(request: RouteRequest, emulator: EmulatorState): Reply {
  const reply = dispatch(request, emulator);
  if (reply.status === 401) emulator.stats.unauthorized++;
  return reply;
}

async function handle(req: IncomingMessage, res: ServerResponse, emulator: EmulatorState): Promise<void> {
  const { origin } = emulator.urls;
  // Concatenate rather than resolve: a target like `//host/x` must stay a path, not become a host.
  const target = req.url ?? '/';
  const url = new URL(target.startsWith('/') ? origin + target : target, origin);
  const entry: EmulatorRequest = {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: copyHeaders(req.headers),
    body: undefined,
    status: 0,
    time: Date.now(),
  };
  emulator.log.add(entry);
  const route = findRoute(url.pathname);

  const body = await readBody(req);
  if (body === null) {
    send(res, entry, tooLarge(route, emulator), emulator);
    return;
  }
  const json = body !== '' && mediaType(req.headers) === 'application/json' ? tryParseJson(body) : undefined;
  if (body !== '') entry.body = json?.ok === true ? json.value : body;
  const request: RouteRequest = { method: entry.method, url, headers: req.headers, body, json };

  const fault = route?.faults === undefined ? undefined : emulator.faults[route.faults].take();
  switch (fault?.kind) {
    case undefined:
      send(res, entry, answer(request, emulator), emulator);
      return;
    case 'reply':
      send(res, entry, fault.reply, emulator);
      return;
    case 'hang':
      // Never answered; close() destroys the socket.
      emulator.settings.onRequest?.(entry);
      return;
    case 'reset':
      // Process for real (a refresh rotates), then lose the response.
      answer(request, emulator);
      req.socket.destroy();
      emulator.settings.onRequest?.(entry);
      return;
  }
}

/** Listens on 127.0.0.1:`port` (0: a free one) and fills in `emulator.urls` before resolving. */
export async function serve(port: number, emulator: EmulatorState): Promise<EmulatorServer> {
  const sockets = new Set<Socket>();
  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res, emulator).catch(() => {
      // Only a socket error while reading can land here; the client is gone, so just let go.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'Internal emulator error' } }));
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  setOrigin(emulator, `http://${HOST}:${(server.address() as AddressInfo).port}`);

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Hanging requests and idle keep-alive connections would otherwise hold close() open.
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
