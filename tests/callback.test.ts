import { describe, expect, it } from 'vitest';
import { checkState, codeFromParams, isStateOf, parseAuthCode } from '../src/callback.js';
import { OAuthFlowError } from '../src/errors.js';
import { thrownBy } from './helpers/fixtures.js';

const SECRET = 'SECRETCODE123';

const parseError = (raw: string) => thrownBy(OAuthFlowError, () => parseAuthCode(raw));

describe('parseAuthCode (seed: TestOAuthAuth.test_parse_auth_code_*)', () => {
  it('splits CODE#STATE', () => {
    expect(parseAuthCode('mycode#mystate')).toEqual({ code: 'mycode', state: 'mystate' });
  });

  it('trims surrounding whitespace and newlines', () => {
    expect(parseAuthCode('  \n mycode#mystate \r\n\t')).toEqual({ code: 'mycode', state: 'mystate' });
  });

  it('splits at the first #', () => {
    expect(parseAuthCode('abc#def#ghi')).toEqual({ code: 'abc', state: 'def#ghi' });
  });

  it('reads a full callback URL', () => {
    expect(parseAuthCode('https://platform.claude.com/oauth/code/callback?code=the-code&state=the-state')).toEqual({
      code: 'the-code',
      state: 'the-state',
    });
    expect(parseAuthCode('http://localhost:54545/callback?state=s1&code=c1&extra=1')).toEqual({
      code: 'c1',
      state: 's1',
    });
  });

  it('decodes percent-encoded values in URLs and query strings', () => {
    expect(parseAuthCode('code=a%2Fb&state=c%3Dd')).toEqual({ code: 'a/b', state: 'c=d' });
  });

  it('reads a query string with or without ?', () => {
    expect(parseAuthCode('code=c2&state=s2')).toEqual({ code: 'c2', state: 's2' });
    expect(parseAuthCode('?code=c3&state=s3')).toEqual({ code: 'c3', state: 's3' });
    expect(parseAuthCode('  ?state=s4&code=c4  ')).toEqual({ code: 'c4', state: 's4' });
  });

  it('turns error=access_denied into access_denied', () => {
    const err = parseError('error=access_denied&state=s');
    expect(err.code).toBe('access_denied');
    expect(err.message).toContain('denied');
    expect(parseError('http://localhost:1/callback?error=access_denied&state=s').code).toBe('access_denied');
  });

  it('turns any other error= into access_denied naming the server error', () => {
    const err = parseError('?error=server_error&error_description=Try+later');
    expect(err.code).toBe('access_denied');
    expect(err.message).toContain('server_error');
    expect(err.message).toContain('Try later');
  });

  it.each([
    ['no # at all (seed: "no-hash-here")', 'no-hash-here'],
    ['an empty string', ''],
    ['only whitespace', '   \n '],
    ['a missing code', '#state'],
    ['a missing state', 'code#'],
    ['a bare #', '#'],
    ['a space inside the code', 'my code#state'],
    ['a space inside the state', 'code#my state'],
    ['a tab inside', 'code\t#state'],
    ['a query without state', 'code=c'],
    ['a query without code', '?state=s&foo=bar'],
    ['a query with empty values', 'code=&state='],
    ['repeated state parameters', 'code=c&state=s1&state=s2'],
    ['repeated code parameters', 'code=c1&code=c2&state=s'],
    ['a URL with repeated state', 'https://x.example/cb?code=c&state=a&state=b'],
    ['a URL without parameters', 'https://platform.claude.com/oauth/code/callback'],
    ['an unparseable URL', 'https://[not-a-url/cb?code=c&state=s'],
    ['garbage', '%%%garbage%%%'],
    ['non-printable characters', 'co\u0000de#state'],
    ['non-ASCII characters', 'cödé#state'],
  ])('refuses %s with invalid_code', (_label, raw) => {
    expect(parseError(raw).code).toBe('invalid_code');
  });

  it('refuses a non-string with invalid_code', () => {
    expect(parseError(42 as unknown as string).code).toBe('invalid_code');
  });

  it.each([
    ['no #', `${SECRET}`],
    ['a space', `${SECRET} more#state`],
    ['a space in the state', `code#${SECRET} x`],
    ['missing state', `${SECRET}#`],
    ['repeated state', `code=${SECRET}&state=a&state=b`],
    ['a query without state', `code=${SECRET}`],
    ['a bad URL', `https://[${SECRET}/cb?code=${SECRET}`],
    ['a URL without state', `https://x.example/cb?code=${SECRET}`],
    ['a denied URL carrying a state', `https://x.example/cb?error=access_denied&state=${SECRET}`],
  ])('never quotes the pasted value in the error (%s)', (_label, raw) => {
    const err = parseError(raw);
    expect(err.message).not.toContain(SECRET);
    expect(err.stack ?? '').not.toContain(SECRET);
    expect(JSON.stringify(err)).not.toContain(SECRET);
  });

  it('says what to paste', () => {
    expect(parseError('nothing-useful').message).toContain('CODE#STATE');
  });
});

describe('codeFromParams', () => {
  it('returns code and state', () => {
    expect(codeFromParams(new URLSearchParams({ code: 'c', state: 's' }))).toEqual({ code: 'c', state: 's' });
  });

  it('checks error before anything else', () => {
    expect(() => codeFromParams(new URLSearchParams('code=c&state=s&error=access_denied'))).toThrow(
      expect.objectContaining({ code: 'access_denied' }),
    );
  });

  it('truncates a long error description', () => {
    try {
      codeFromParams(new URLSearchParams({ error: 'x'.repeat(500), error_description: 'y'.repeat(1000) }));
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'access_denied' });
      const message = (error as Error).message;
      expect(message).toContain('x'.repeat(100));
      expect(message).not.toContain('x'.repeat(101));
      expect(message).toContain('y'.repeat(200));
      expect(message).not.toContain('y'.repeat(201));
    }
  });
});

describe('hostile pastes (issue 10: pasted codes)', () => {
  it('accepts an answer wrapped in bracketed-paste markers, as a terminal sends it', () => {
    expect(parseAuthCode('\u001b[200~the-code#the-state\u001b[201~\r')).toEqual({
      code: 'the-code',
      state: 'the-state',
    });
    expect(parseAuthCode('\u001b[200~https://x.example/cb?code=c&state=s\u001b[201~')).toEqual({
      code: 'c',
      state: 's',
    });
  });

  it('accepts a callback URL from another host (a browser on another machine shows its own address)', () => {
    expect(parseAuthCode('https://evil.example:8443/elsewhere?code=c&state=s')).toEqual({ code: 'c', state: 's' });
  });

  it.each([
    ['a line over 16 KiB', `${'a'.repeat(16 * 1024)}#state`],
    ['10 MB', `${'c'.repeat(10_000_000)}#s`],
    ['an escape sequence inside', 'co\u001b[2Jde#state'],
    ['a lone bracketed-paste start and junk', '\u001b[200'],
    ['a carriage return inside', 'code\r#state'],
    ['a right-to-left override', 'code\u202e#state'],
    ['a URL with the code in the fragment only', 'https://x.example/cb#code=c&state=s'],
    ['javascript:', 'javascript:alert(1)'],
    ['only #s', '###'],
  ])('refuses %s with invalid_code, never quoting it', (_label, raw) => {
    const err = parseError(raw);
    expect(err.code).toBe('invalid_code');
    expect(err.message).toContain('CODE#STATE');
    expect(err.message.length).toBeLessThan(300);
  });
});

describe('the state check (RFC 6749 §10.12), the one the listener, the paste and the exchange use', () => {
  it('matches exactly one state equal to the expected one', () => {
    expect(isStateOf('s1', 's1')).toBe(true);
    expect(isStateOf(['s1'], 's1')).toBe(true);
  });

  it.each<[string, string | string[] | null, string | undefined]>([
    ['another state', 's2', 's1'],
    ['a prefix of it', 's', 's1'],
    ['it with a space', 's1 ', 's1'],
    ['no state', null, 's1'],
    ['no state values', [], 's1'],
    ['it twice', ['s1', 's1'], 's1'],
    ['it and another', ['s1', 's2'], 's1'],
    ['anything, with no login waiting', 's1', undefined],
  ])('refuses %s', (_label, received, expected) => {
    expect(isStateOf(received, expected)).toBe(false);
  });

  it('checkState returns the answer, or state_mismatch saying where it came from and never quoting it', () => {
    const answer = { code: SECRET, state: 's1' };
    expect(checkState(answer, 's1', 'paste')).toBe(answer);
    for (const [source, words] of [
      ['paste', /pasted answer belongs to another login attempt/],
      ['browser', /returned by the browser does not match/],
    ] as const) {
      let caught: unknown;
      try {
        checkState({ code: SECRET, state: 'other-state' }, 's1', source);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(OAuthFlowError);
      expect(caught).toMatchObject({ code: 'state_mismatch', message: expect.stringMatching(words) });
      expect(String((caught as Error).message)).not.toMatch(/SECRETCODE|other-state/);
    }
  });
});
