/**
 * Reading the authorization response (RFC 6749 §4.1.2) from what the user pastes or the browser sends.
 *
 * Accepted, after trimming: `CODE#STATE` (the manual page), a full callback URL copied from the
 * address bar (any host: a browser on another machine shows its own), or its query string
 * (`code=…&state=…`, with or without `?`). The markers a terminal wraps a paste in (bracketed paste,
 * `ESC[200~` … `ESC[201~`) are removed first. An `error=…` response becomes `access_denied` (or the
 * server's own error code in the message). Anything else, including input over 16 KiB (a real
 * answer is a few hundred characters), is an `invalid_code` error that never quotes the input: it
 * may hold a code.
 *
 * The `state` check (RFC 6749 §10.12) is here, once: an answer belongs to this login only when it
 * carries exactly one `state`, equal to the one the authorize URL sent (`isStateOf`). The loopback
 * listener refuses any other callback and keeps waiting; a pasted answer or a code handed to the
 * exchange with another `state` is `state_mismatch` (`checkState`), before any token request.
 */
import { OAuthFlowError } from './errors.js';

export interface AuthorizationCode {
  code: string;
  state: string;
}

const PASTE_HINT = 'Paste the whole `CODE#STATE` value shown in the browser, or the full callback URL.';
/** Codes and states are opaque but printable, with no whitespace (RFC 6749 Appendix A.11/A.5). */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;
/** A pasted answer is a few hundred characters; anything this long is not one. */
const MAX_PASTE_CHARS = 16 * 1024;
/** What a terminal in bracketed-paste mode sends around a paste, when a program has not turned it off. */
const PASTE_MARKERS = ['\u001b[200~', '\u001b[201~'];

/** Turns the parameters of an authorization response into a code and state, or a typed error. */
export function codeFromParams(params: URLSearchParams): AuthorizationCode {
  const error = params.get('error');
  if (error !== null) {
    const description = params.get('error_description');
    const what =
      error === 'access_denied'
        ? 'The authorization was denied in the browser'
        : `The authorization failed (${error.slice(0, 100)})`;
    throw new OAuthFlowError(
      'access_denied',
      `${what}${description ? `: ${description.slice(0, 200)}` : ''}. Run the login again and choose Approve.`,
    );
  }
  if (params.getAll('state').length > 1 || params.getAll('code').length > 1) {
    throw new OAuthFlowError('invalid_code', `The callback carries more than one code or state. ${PASTE_HINT}`);
  }
  return checked(params.get('code'), params.get('state'));
}

function checked(code: string | null, state: string | null): AuthorizationCode {
  if (!code || !state) {
    throw new OAuthFlowError('invalid_code', `The authorization code or its state is missing. ${PASTE_HINT}`);
  }
  if (!TOKEN_CHARS.test(code) || !TOKEN_CHARS.test(state)) {
    throw new OAuthFlowError(
      'invalid_code',
      `The authorization code contains spaces or unexpected characters. ${PASTE_HINT}`,
    );
  }
  return { code, state };
}

/**
 * Whether `received` (the `state` values an answer carries) is exactly the `expected` state of this
 * login: one value, equal to it. `undefined` expected (no login waiting) matches nothing.
 */
export function isStateOf(received: string | readonly string[] | null, expected: string | undefined): boolean {
  const values = received === null ? [] : typeof received === 'string' ? [received] : received;
  return expected !== undefined && values.length === 1 && values[0] === expected;
}

/** Where an answer came from, for the message of a `state_mismatch`. */
export type AnswerSource = 'browser' | 'paste';

const MISMATCH: Readonly<Record<AnswerSource, string>> = {
  browser:
    'The state returned by the browser does not match this login attempt (possible CSRF, or a code from an older attempt). Start the login again.',
  paste:
    'The pasted answer belongs to another login attempt (its state does not match). Start the login again and paste the answer from the page it opens.',
};

/** `answer` when its `state` is this login's (`isStateOf`); otherwise a `state_mismatch` error. */
export function checkState<T extends AuthorizationCode>(answer: T, expected: string, source: AnswerSource): T {
  if (isStateOf(answer.state, expected)) return answer;
  throw new OAuthFlowError('state_mismatch', MISMATCH[source]);
}

export function parseAuthCode(raw: string): AuthorizationCode {
  if (typeof raw !== 'string') throw new OAuthFlowError('invalid_code', `Expected a string. ${PASTE_HINT}`);
  if (raw.length > MAX_PASTE_CHARS) {
    throw new OAuthFlowError('invalid_code', `The pasted value is far too long to be an answer. ${PASTE_HINT}`);
  }
  const input = PASTE_MARKERS.reduce((text, marker) => text.split(marker).join(''), raw).trim();
  if (input === '') throw new OAuthFlowError('invalid_code', `Nothing was pasted. ${PASTE_HINT}`);

  if (/^https?:\/\//i.test(input)) {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw new OAuthFlowError('invalid_code', `That is not a valid URL. ${PASTE_HINT}`);
    }
    return codeFromParams(url.searchParams);
  }
  const query = input.startsWith('?') ? input.slice(1) : input;
  if (/(^|&)(code|error)=/.test(query)) return codeFromParams(new URLSearchParams(query));

  const hash = input.indexOf('#');
  if (hash === -1) {
    throw new OAuthFlowError('invalid_code', `The pasted value has no \`#\` between code and state. ${PASTE_HINT}`);
  }
  return checked(input.slice(0, hash), input.slice(hash + 1));
}
