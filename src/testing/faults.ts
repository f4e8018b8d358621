/**
 * Faults: queued misbehaviour for an endpoint, applied in order, each to its next `count` calls.
 * A route names the queue that applies to it (`Route.faults`); the server takes one fault per
 * request before the route runs. The token endpoint (`faults.token*`), `/v1/messages`
 * (`faults.messages*`: the subscription errors, verbatim) and the account endpoints
 * (`faults.profile*`, `faults.usage*`) have queues.
 */

import { checkCount, checkSeconds } from './checks.js';
import { apiError, oauthError, type Reply } from './http.js';
import type { EmulatorFaults } from './types.js';
import { RATE_LIMIT_HEADER_PREFIX, SUBSCRIPTION_ERRORS } from './wire.js';

/** Answer this reply instead; read and never answer; or process for real and drop the connection. */
export type Fault = { kind: 'reply'; reply: Reply } | { kind: 'hang' } | { kind: 'reset' };

/** The endpoints that have fault queues. */
export type FaultTarget = 'token' | 'messages' | 'profile' | 'usage' | 'apiKey';

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

function checkStatus(status: number): number {
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new RangeError(`status must be an HTTP status, got ${status}`);
  }
  return status;
}

type TokenFaults = Pick<
  EmulatorFaults,
  'tokenServerError' | 'tokenRateLimited' | 'tokenMalformed' | 'tokenHang' | 'tokenResetAfterRequest'
>;

/** The public `faults` controls: every queue's. `nextId` names the `request-id` of API errors. */
export function faultControls(
  queues: Readonly<Record<FaultTarget, FaultQueue>>,
  nextId: (prefix: string) => string,
): EmulatorFaults {
  const api = (status: number, type: string, message: string) => ({
    kind: 'reply' as const,
    reply: apiError(nextId('req'), status, type, message),
  });
  const raw = (queue: FaultQueue, body: string, count: number, status: number, contentType: string) =>
    queue.add(
      { kind: 'reply', reply: { status: checkStatus(status), headers: { 'content-type': contentType }, body } },
      count,
    );
  return {
    ...tokenFaultControls(queues.token),
    messagesExtraUsageRequired(count = 1, variant = 'personal') {
      const message =
        variant === 'organization'
          ? SUBSCRIPTION_ERRORS.extraUsageRequiredOrganization
          : SUBSCRIPTION_ERRORS.extraUsageRequired;
      queues.messages.add(api(400, 'invalid_request_error', message), count);
    },
    messagesOutOfExtraUsage(count = 1) {
      queues.messages.add(api(400, 'invalid_request_error', SUBSCRIPTION_ERRORS.outOfExtraUsage), count);
    },
    messagesClaudeCodeOnly(count = 1) {
      queues.messages.add(api(400, 'invalid_request_error', SUBSCRIPTION_ERRORS.claudeCodeOnly), count);
    },
    messagesOAuthNotSupported(count = 1) {
      queues.messages.add(api(401, 'authentication_error', SUBSCRIPTION_ERRORS.oauthNotSupported), count);
    },
    messagesRateLimited(count = 1, options = {}) {
      const seconds = checkSeconds('resetsInSeconds', options.resetsInSeconds ?? 3600);
      const window = options.window ?? 'five_hour';
      const fault = api(429, 'rate_limit_error', SUBSCRIPTION_ERRORS.rateLimited);
      // Computed when the fault is queued: the reset is that many seconds from now.
      Object.assign(fault.reply.headers, {
        'retry-after': String(Math.ceil(seconds)),
        [`${RATE_LIMIT_HEADER_PREFIX}status`]: 'rejected',
        [`${RATE_LIMIT_HEADER_PREFIX}representative-claim`]: window,
        [`${RATE_LIMIT_HEADER_PREFIX}reset`]: String(Math.floor(Date.now() / 1000 + seconds)),
        [`${RATE_LIMIT_HEADER_PREFIX}overage-status`]: 'rejected',
        [`${RATE_LIMIT_HEADER_PREFIX}overage-disabled-reason`]: 'overage_not_provisioned',
      });
      queues.messages.add(fault, count);
    },
    profileMalformed(body, count = 1, status = 200, contentType = 'application/json') {
      raw(queues.profile, body, count, status, contentType);
    },
    usageMalformed(body, count = 1, status = 200, contentType = 'application/json') {
      raw(queues.usage, body, count, status, contentType);
    },
    apiKeyMalformed(body, count = 1, status = 200, contentType = 'application/json') {
      raw(queues.apiKey, body, count, status, contentType);
    },
  };
}

/** The controls over the token endpoint's queue. */
export function tokenFaultControls(queue: FaultQueue): TokenFaults {
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
