/**
 * Faults: queued misbehaviour for an endpoint, applied in order, each to its next `count` calls.
 * A route names the queue that applies to it (`Route.faults`); the server takes one fault per
 * request before the route runs. Today only the token endpoint has faults (`faults.token*`).
 */

import { checkCount, checkSeconds } from './checks.js';
import { oauthError, type Reply } from './http.js';
import type { EmulatorFaults } from './types.js';

/** Answer this reply instead; read and never answer; or process for real and drop the connection. */
export type Fault = { kind: 'reply'; reply: Reply } | { kind: 'hang' } | { kind: 'reset' };

/** The endpoints that have fault queues. */
export type FaultTarget = 'token';

export interface FaultQueue {
  add(fault: Fault, count: number): void;
  /** The fault for this call, if any; consumes one use. */
  take(): Fault | undefined;
}

export function createFaultQueue(): FaultQueue {
  const queue: Array<{ fault: Fault; remaining: number }> = [];
  return {
    add(fault, count) {
      if (checkCount(count) > 0) queue.push({ fault, remaining: count });
    },
    take() {
      const head = queue[0];
      if (head === undefined) return undefined;
      head.remaining -= 1;
      if (head.remaining === 0) queue.shift();
      return head.fault;
    },
  };
}

/** The public `faults` controls over the token endpoint's queue. */
export function tokenFaultControls(queue: FaultQueue): EmulatorFaults {
  return {
    tokenServerError(count = 1, status = 500) {
      if (!Number.isInteger(status) || status < 500 || status > 599) {
        throw new RangeError(`status must be a 5xx code, got ${status}`);
      }
      queue.add({ kind: 'reply', reply: oauthError(status, 'server_error', 'The server had an error') }, count);
    },
    tokenRateLimited(retryAfterSeconds, count = 1) {
      const seconds = checkSeconds('retryAfterSeconds', retryAfterSeconds);
      const reply = oauthError(429, 'rate_limit_error', 'Too many requests');
      reply.headers['retry-after'] = String(seconds);
      queue.add({ kind: 'reply', reply }, count);
    },
    tokenMalformed(body, count = 1, status = 200) {
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new RangeError(`status must be an HTTP status, got ${status}`);
      }
      queue.add({ kind: 'reply', reply: { status, headers: { 'content-type': 'application/json' }, body } }, count);
    },
    tokenHang(count = 1) {
      queue.add({ kind: 'hang' }, count);
    },
    tokenResetAfterRequest(count = 1) {
      queue.add({ kind: 'reset' }, count);
    },
  };
}
