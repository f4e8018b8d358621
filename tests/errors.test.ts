import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { inspect } from 'node:util';
import { AnthropicError } from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../src/cli/args.js';
import {
  LOGIN_HINT,
  OAuthFlowError,
  redactErrorBody,
  scrubSecrets,
  TokenStorageError,
  withoutSecrets,
} from '../src/errors.js';

describe('OAuthFlowError', () => {
  it('is an AnthropicError and an Error with a stable name and code', () => {
    const err = new OAuthFlowError('invalid_grant', 'Log in again.', { status: 400, body: { error: 'invalid_grant' } });
    expect(err).toBeInstanceOf(OAuthFlowError);
    expect(err).toBeInstanceOf(AnthropicError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('OAuthFlowError');
    expect(err.code).toBe('invalid_grant');
    expect(err.message).toBe('Log in again.');
    expect(err.status).toBe(400);
    expect(err.body).toEqual({ error: 'invalid_grant' });
    expect(err.retryAfter).toBeUndefined();
  });

  it('keeps retryAfter and cause, and does not leak the options into the Error', () => {
    const cause = new Error('root');
    const err = new OAuthFlowError('rate_limited', 'Slow down.', { status: 429, retryAfter: 7, cause });
    expect(err.retryAfter).toBe(7);
    expect(err.cause).toBe(cause);
    expect(err.status).toBe(429);
  });

  it('serializes to JSON with name, code, message, status and body only', () => {
    const err = new OAuthFlowError('token_endpoint_error', 'HTTP 500', {
      status: 500,
      cause: new Error('secret-cause'),
    });
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      name: 'OAuthFlowError',
      code: 'token_endpoint_error',
      message: 'HTTP 500',
      status: 500,
    });
    expect(JSON.stringify(err)).not.toContain('secret-cause');
  });
});

describe('TokenStorageError', () => {
  it('is an AnthropicError and an Error with a stable name, code and path', () => {
    const err = new TokenStorageError('corrupt_file', 'Bad file.', { path: '/tmp/x.json' });
    expect(err).toBeInstanceOf(TokenStorageError);
    expect(err).toBeInstanceOf(AnthropicError);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(OAuthFlowError);
    expect(err.name).toBe('TokenStorageError');
    expect(err.code).toBe('corrupt_file');
    expect(err.path).toBe('/tmp/x.json');
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      name: 'TokenStorageError',
      code: 'corrupt_file',
      message: 'Bad file.',
      path: '/tmp/x.json',
    });
  });

  it('has an undefined path when none is given', () => {
    expect(new TokenStorageError('write_failed', 'x').path).toBeUndefined();
  });
});

describe('redactErrorBody', () => {
  it('keeps only error, error_description and error_uri', () => {
    const body = {
      error: 'invalid_grant',
      error_description: 'Refresh token revoked',
      error_uri: 'https://example.com/docs',
      refresh_token: 'sk-ant-ort01-SECRET',
      access_token: 'sk-ant-oat01-SECRET',
      extra: { nested: true },
    };
    expect(redactErrorBody(body)).toEqual({
      error: 'invalid_grant',
      error_description: 'Refresh token revoked',
      error_uri: 'https://example.com/docs',
    });
  });

  it('omits optional fields that are missing or not strings', () => {
    expect(redactErrorBody({ error: 'invalid_request', error_description: 42, error_uri: null })).toEqual({
      error: 'invalid_request',
    });
  });

  it('truncates long strings to 300 characters plus an ellipsis', () => {
    const long = 'x'.repeat(1000);
    const out = redactErrorBody({ error: long, error_description: long, error_uri: long });
    expect(out?.error).toBe(`${'x'.repeat(300)}…`);
    expect(out?.error_description).toHaveLength(301);
    expect(out?.error_uri).toHaveLength(301);
    expect(redactErrorBody({ error: 'y'.repeat(300) })?.error).toBe('y'.repeat(300));
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'invalid_grant'],
    ['a number', 400],
    ['an array', [{ error: 'invalid_grant' }]],
    ['an object without error', { error_description: 'x' }],
    ['an empty error', { error: '' }],
    ['a non-string error', { error: 42 }],
  ])('returns undefined for %s', (_label, body) => {
    expect(redactErrorBody(body)).toBeUndefined();
  });
});

describe('LOGIN_HINT', () => {
  it('is advice that works as written: the program is this package’s bin, and the command is its login', async () => {
    const [, program, command, ...rest] = /`npx ([^`\s]+) ([^`]+)`/.exec(LOGIN_HINT) ?? [];
    expect(rest).toEqual([]);
    const { bin } = JSON.parse(await readFile(resolve('package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(Object.keys(bin)).toContain(program);
    expect(parseCommandLine((command ?? '').split(' '))).toMatchObject({ kind: 'run', command: 'login' });
  });
});

describe('scrubSecrets / withoutSecrets (issue 10 item 8)', () => {
  const secret = 'a.b*c+d/e f?(g)[h]$^|\\i';

  it('replaces a secret in every form a server may echo it, regex characters included', () => {
    const forms = [
      secret,
      encodeURIComponent(secret),
      encodeURIComponent(secret).toLowerCase(),
      encodeURIComponent(secret).replace('%20', '+'),
      JSON.stringify(secret).slice(1, -1),
      JSON.stringify(secret).slice(1, -1).replaceAll('/', '\\/'),
      Array.from(secret, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
    ];
    for (const form of forms) expect(scrubSecrets(`<${form}>`, [secret]), form).toBe('<[redacted]>');
  });

  it('replaces the longer of two overlapping secrets whole, and ignores an empty one', () => {
    expect(scrubSecrets('x abcdef y abc', ['abc', 'abcdef', ''])).toBe('x [redacted] y [redacted]');
    expect(scrubSecrets('nothing here', [''])).toBe('nothing here');
  });

  it('rebuilds an OAuthFlowError that shows a secret anywhere, keeping code, status, body and the errno code', () => {
    const inner = Object.assign(new Error(`read ECONNRESET sending refresh_token=${secret}`), {
      code: 'ECONNRESET',
      input: secret,
    });
    const error = new OAuthFlowError('token_endpoint_error', `HTTP 400: ${secret}`, {
      status: 400,
      body: { error: 'invalid_request', error_description: secret },
      retryAfter: 3,
      cause: new TypeError('fetch failed', { cause: inner }),
    });
    const clean = withoutSecrets(error, [secret]) as OAuthFlowError;
    expect(clean).toBeInstanceOf(OAuthFlowError);
    expect(clean).toMatchObject({
      code: 'token_endpoint_error',
      status: 400,
      retryAfter: 3,
      message: 'HTTP 400: [redacted]',
      body: { error: 'invalid_request', error_description: '[redacted]' },
    });
    const shown = [clean.stack, JSON.stringify(clean), inspect(clean, { depth: 10 })].join('\n');
    expect(shown).not.toContain(secret);
    expect(shown).toContain('ECONNRESET');
    expect((clean.cause as Error).name).toBe('TypeError');
  });

  it('returns an error that shows no secret, and anything that is not an OAuthFlowError, as it is', () => {
    const error = new OAuthFlowError('timeout', 'No answer.', { cause: new Error('slow') });
    expect(withoutSecrets(error, [secret])).toBe(error);
    const reason = new Error(`caller's own reason ${secret}`);
    expect(withoutSecrets(reason, [secret])).toBe(reason);
  });
});

describe('instanceof across copies of this module', () => {
  it('holds for errors made by another copy (each entry point of the built package bundles its own)', async () => {
    // A second instance of the module, as dist/redis.js or dist/cli.js carry one.
    const specifier = '../src/errors.ts?another-copy';
    const copy = (await import(specifier)) as typeof import('../src/errors.js');
    expect(copy.TokenStorageError).not.toBe(TokenStorageError);
    const storage = new copy.TokenStorageError('store_unavailable', 'Redis is down.');
    const flow = new copy.OAuthFlowError('not_logged_in', 'Log in.');
    expect(storage).toBeInstanceOf(TokenStorageError);
    expect(storage).not.toBeInstanceOf(OAuthFlowError);
    expect(flow).toBeInstanceOf(OAuthFlowError);
    expect(flow).not.toBeInstanceOf(TokenStorageError);
    expect(new TokenStorageError('read_failed', 'x')).toBeInstanceOf(copy.TokenStorageError);
    expect({ code: 'read_failed' }).not.toBeInstanceOf(TokenStorageError);
    // Subclasses keep their own meaning.
    class Narrower extends TokenStorageError {}
    expect(new TokenStorageError('read_failed', 'x')).not.toBeInstanceOf(Narrower);
    expect(new Narrower('read_failed', 'x')).toBeInstanceOf(copy.TokenStorageError);
  });
});
