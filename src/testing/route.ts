/**
 * What an endpoint is to the emulator: a path, a handler per method, the error dialect it speaks
 * and, optionally, the fault queue that applies to it. Adding an endpoint is adding a file under
 * `routes/` that exports a `Route`, and listing it in `routes/index.ts`.
 *
 * A handler is a function of the request and the emulator's state to a reply. It never sees the
 * socket: the server reads, logs, applies faults and writes.
 */

import type { FaultTarget } from './faults.js';
import type { Reply, RouteRequest } from './http.js';
import type { EmulatorState } from './state.js';

export type Handler = (request: RouteRequest, state: EmulatorState) => Reply;

export interface Route {
  path: string;
  /** Handlers by HTTP method, in the order `Allow` lists them; another method gets 405. */
  methods: Readonly<Record<string, Handler>>;
  /**
   * How its 405 and 413 look: `oauth` is RFC 6749 §5.2 JSON (the token endpoint), `api` the API's
   * `{"type":"error","error":{…}}` envelope (the API and the pages).
   */
  dialect: 'oauth' | 'api';
  /** The fault queue consulted before the handler runs, if this endpoint has one. */
  faults?: FaultTarget;
}
