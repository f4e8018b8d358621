/**
 * `POST /v1/messages`, streaming or not, as a function from request to reply: the API's OAuth rules
 * (`api-auth.ts`), the few body checks the real API makes first, then the fake model's answer
 * (`messages-content.ts`) as one JSON message or as the real event stream, in a single write.
 * Every answer carries the subscription's `anthropic-ratelimit-unified-*` headers
 * (`subscription.ts`); with the plan's limit reached and no extra usage, the answer is the real 429.
 * Faults: `faults.messages*` (the subscription errors, verbatim).
 *
 * Cheap on purpose (benchmarks run through it): no crypto, ids from the state's counter.
 */

import type { OutgoingHttpHeaders } from 'node:http';
import { apiError, isObject, jsonBody, jsonReply, type Reply, type RouteRequest } from '../http.js';
import type { Route } from '../route.js';
import type { EmulatorState } from '../state.js';
import { PATHS, RATE_LIMIT_HEADER_PREFIX, SUBSCRIPTION_ERRORS } from '../wire.js';
import { checkApiAuth } from './api-auth.js';
import { estimateTokens, inputChars, replyText, toolCallFor } from './messages-content.js';

function sseEvent(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

interface Answer {
  id: string;
  requestId: string;
  model: string;
  text: string;
  toolUse: { type: 'tool_use'; id: string; name: string; input: unknown } | null;
  inputJson: string;
  stopReason: 'end_turn' | 'tool_use';
  usage: { input_tokens: number; output_tokens: number };
}

/** The real event order; one delta per word so clients see more than one chunk. */
function streamReply(answer: Answer, rateLimit: OutgoingHttpHeaders): Reply {
  const { id, model, toolUse, text, inputJson, stopReason, usage } = answer;
  let stream = sseEvent('message_start', {
    type: 'message_start',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: usage.input_tokens, output_tokens: 1 },
    },
  });
  stream += sseEvent('content_block_start', {
    type: 'content_block_start',
    index: 0,
    content_block: toolUse === null ? { type: 'text', text: '' } : { ...toolUse, input: {} },
  });
  // Text: one delta per word. Tool input: an empty first delta, then the JSON in short pieces, as
  // the real API sends it (clients must concatenate `partial_json` before parsing).
  const deltas =
    toolUse === null
      ? (text.match(/\S+\s*/g) ?? [text]).map((piece) => ({ type: 'text_delta', text: piece }))
      : ['', ...(inputJson.match(/.{1,8}/gs) ?? [])].map((piece) => ({
          type: 'input_json_delta',
          partial_json: piece,
        }));
  for (const delta of deltas) {
    stream += sseEvent('content_block_delta', { type: 'content_block_delta', index: 0, delta });
  }
  stream += sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 });
  stream += sseEvent('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: usage.output_tokens },
  });
  stream += sseEvent('message_stop', { type: 'message_stop' });
  return {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': answer.requestId,
      ...rateLimit,
    },
    body: stream,
  };
}

export function messagesEndpoint(request: RouteRequest, emulator: EmulatorState): Reply {
  const refused = checkApiAuth(request.headers, emulator);
  if (refused !== null) return refused;
  const invalid = (message: string) => apiError(emulator.nextId('req'), 400, 'invalid_request_error', message);

  const parsed = jsonBody(request);
  if (!parsed.ok || !isObject(parsed.value)) return invalid('The body must be a JSON object');
  const body = parsed.value;
  if (typeof body.model !== 'string' || body.model === '') return invalid('model: Field required');
  if (typeof body.max_tokens !== 'number' || !Number.isFinite(body.max_tokens)) {
    return invalid('max_tokens: Field required');
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return invalid('messages: at least one message is required');
  }
  if (body.tools !== undefined && !Array.isArray(body.tools)) return invalid('tools: Input should be a valid list');

  const sub = emulator.subscription;
  if (sub.rejected) {
    const reply = apiError(emulator.nextId('req'), 429, 'rate_limit_error', SUBSCRIPTION_ERRORS.rateLimited);
    const reset = Number(sub.headers[`${RATE_LIMIT_HEADER_PREFIX}reset`] ?? Number.NaN);
    const retryAfter = Number.isFinite(reset) ? Math.max(0, Math.ceil(reset - Date.now() / 1000)) : 60;
    Object.assign(reply.headers, sub.headers, { 'retry-after': String(retryAfter) });
    return reply;
  }
  emulator.stats.messages++;
  const call = toolCallFor(body, body.messages);
  const text = call === null ? replyText(body.messages) : '';
  const toolUse =
    call === null
      ? null
      : { type: 'tool_use' as const, id: emulator.nextId('toolu'), name: call.name, input: call.input };
  const inputJson = call === null ? '' : JSON.stringify(call.input);
  const answer: Answer = {
    model: body.model,
    text,
    toolUse,
    inputJson,
    stopReason: call === null ? 'end_turn' : 'tool_use',
    usage: {
      input_tokens: estimateTokens(inputChars(body, body.messages)),
      output_tokens: estimateTokens(text.length + inputJson.length),
    },
    id: emulator.nextId('msg'),
    requestId: emulator.nextId('req'),
  };
  if (body.stream === true) return streamReply(answer, sub.headers);
  return jsonReply(
    200,
    {
      id: answer.id,
      type: 'message',
      role: 'assistant',
      model: answer.model,
      content: [toolUse ?? { type: 'text', text }],
      stop_reason: answer.stopReason,
      stop_sequence: null,
      usage: answer.usage,
    },
    { 'request-id': answer.requestId, ...sub.headers },
  );
}

export const messagesRoute: Route = {
  path: PATHS.messages,
  methods: { POST: messagesEndpoint },
  dialect: 'api',
  faults: 'messages',
};
