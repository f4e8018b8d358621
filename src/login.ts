/**
 * The interactive login, as reusable steps: authorize URL → browser → code → exchange → save.
 *
 * Policy:
 * - The library never prints. It hands the URL to `onUrl`, reports progress through `onEvent`,
 *   and reads pasted answers from an `AsyncIterable<string>` of lines the caller supplies (the CLI
 *   passes stdin). `authorizeManually` keeps the seed's `ask` hook for `authorizeInteractive`.
 * - `loginWithLoopback` (RFC 8252 §7.3): a one-shot listener on loopback, and at the same time a
 *   pasted answer (`CODE#STATE`, the callback URL, or its query string), for a browser on another
 *   machine. The first valid answer wins and the other is cancelled. Both are held to the same
 *   `state`, and the code is exchanged with the loopback redirect URI it was issued for.
 * - `loginManually`: the redirect URI is the manual page, which shows `CODE#STATE`; paste only.
 * - A pasted line that is not an answer is reported (`invalid_answer`) and the next one is read;
 *   a pasted wrong `state` or a denial ends the login. A callback with a wrong or missing `state`
 *   at the listener may come from any local program: it is reported (`stray_callback`) and the
 *   wait goes on. The wait is bounded by `timeoutMs` (5 minutes);
 *   the token exchange after it has its own timeout.
 * - The caller's `signal` cancels everything; the listener and the paste reader are always released.
 * - The tokens are saved under the store's lock (`store/guard.ts`), as refreshes and logouts write:
 *   a refresh in flight elsewhere finishes first and cannot write over the new login.
 */
import { buildAuthorizationUrl } from './authorize.js';
import { openBrowser as defaultOpenBrowser } from './browser.js';
import { type AuthorizationCode, checkState, parseAuthCode } from './callback.js';
import { describeDuration } from './duration.js';
import { OAuthFlowError } from './errors.js';
import { startLoopbackListener } from './loopback.js';
import { saveFreshTokens, underLock } from './store/guard.js';
import { resolveStore } from './store/profiles.js';
import type { TokenStore } from './store/types.js';
import { exchangeCodeForTokens } from './token-endpoint.js';
import type { Env, FetchLike, OAuthConfig, OAuthState, OAuthTokens, StoredLogin } from './types.js';

/** How long a login waits for the browser or a paste: 5 minutes, as the codes themselves live. */
export const DEFAULT_LOGIN_TIMEOUT_MS = 5 * 60_000;

export interface LoginIO {
  /** Shows `prompt` and resolves with the line the user typed or pasted. */
  ask(prompt: string): Promise<string>;
  /** Opens the browser on `url`. A failure is not fatal: the URL is in the prompt too. */
  openBrowser(url: string): Promise<void>;
}

/** Default `ask`: the prompt on stderr (stdout stays clean for data), the answer from stdin. */
export async function askLine(prompt: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
  try {
    return await rl.question(prompt);
  } finally {
    rl.close();
  }
}

export interface ManualLoginOptions {
  oauthConfig?: Partial<OAuthConfig> | undefined;
  tokenStorage?: TokenStore | string | undefined;
  ask?: LoginIO['ask'] | undefined;
  openBrowser?: LoginIO['openBrowser'] | undefined;
  fetch?: FetchLike | undefined;
}

/** The seed's manual flow: the redirect page shows `CODE#STATE`, which the user pastes. */
export async function authorizeManually(options: ManualLoginOptions = {}): Promise<OAuthTokens> {
  const { url, oauthState } = await buildAuthorizationUrl(options.oauthConfig);
  const open = options.openBrowser ?? defaultOpenBrowser;
  await open(url).catch(() => {});
  const ask = options.ask ?? askLine;
  const answer = await ask(
    `Open this URL in your browser and sign in:\n\n  ${url}\n\nThen paste the code shown (CODE#STATE): `,
  );
  const { code, state } = parseAuthCode(answer);
  const tokens = await exchangeCodeForTokens({
    code,
    state,
    oauthState,
    config: options.oauthConfig,
    fetch: options.fetch,
  });
  if (options.tokenStorage !== undefined) await saveLogin(options.tokenStorage, tokens);
  return tokens;
}

/**
 * Saves the tokens of a new login under the store's lock: a refresh in flight in another process
 * finishes first, and cannot write over this login afterwards (it compares before it saves).
 */
function saveLogin(tokenStorage: TokenStore | string, tokens: StoredLogin): Promise<void> {
  const store = resolveStore(tokenStorage);
  return underLock(store, () => saveFreshTokens(store, tokens));
}

/** Progress of an interactive login, for a caller that shows it. Never carries a secret. */
export type LoginEvent =
  | { type: 'listening'; redirectUri: string; addresses: readonly string[] }
  | { type: 'browser_failed'; error: unknown }
  | { type: 'invalid_answer'; error: OAuthFlowError }
  /** A callback with a wrong or missing `state` reached the listener and was refused; still waiting. */
  | { type: 'stray_callback' }
  | { type: 'answered'; via: 'browser' | 'paste' };

export interface InteractiveLoginOptions {
  oauthConfig?: Partial<OAuthConfig> | undefined;
  /** Where to save the tokens; nothing is saved when omitted. */
  tokenStorage?: TokenStore | string | undefined;
  /** Opens the browser on the URL (default: the system browser); `false` only reports the URL. */
  openBrowser?: ((url: string) => Promise<void>) | false | undefined;
  /** Lines the user pastes (e.g. stdin). Blank lines are skipped. */
  pastedAnswers?: AsyncIterable<string> | undefined;
  /** Milliseconds to wait for an answer (default 5 minutes). */
  timeoutMs?: number | undefined;
  /** Receives the authorize URL before the browser is opened; show it to the user. */
  onUrl?: ((url: string) => void) | undefined;
  onEvent?: ((event: LoginEvent) => void) | undefined;
  signal?: AbortSignal | undefined;
  fetch?: FetchLike | undefined;
  env?: Env | undefined;
}

export interface LoopbackLoginOptions extends InteractiveLoginOptions {
  /** Port of the loopback listener (default: a free one). */
  port?: number | undefined;
}

type Answer = AuthorizationCode & { via: 'browser' | 'paste' };

/**
 * How a login flow differs from the subscription login (`loginToConsole`, `setupToken`, and the
 * CLI's account summary): the lifetime asked in the code exchange, and what the exchanged tokens
 * become before they are saved. When `finish` throws, nothing is saved.
 */
export interface LoginFlow<L extends StoredLogin> {
  /** Sent as `expires_in` in the code exchange (the long-lived flow only). */
  expiresIn?: number | undefined;
  finish(tokens: OAuthTokens): Promise<L>;
}

const PLAIN_FLOW: LoginFlow<OAuthTokens> = { finish: async (tokens) => tokens };

/** A promise that rejects when `signal` aborts (never resolves). */
function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * The iterator's next line, or the abort reason. The abort listener lives for one line only: one
 * per line would pile up on the signal (Node warns past 10) as a long paste is read.
 */
function nextLine(iterator: AsyncIterator<string>, signal: AbortSignal): Promise<IteratorResult<string, unknown>> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    iterator.next().then(
      (result) => {
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Pasted answers of another login attempt accepted with a warning before the login gives up. */
const MAX_WRONG_STATES = 3;

/**
 * Reads pasted lines until one is an answer for `expectedState`. A line that is no answer, or (up
 * to `MAX_WRONG_STATES` times) an answer of another login attempt, is reported (`invalid_answer`)
 * and the next line read; the last one of those ends the login. Resolves `null` when the input
 * ends first. Stops reading (`return()` on the iterator) when `signal` aborts.
 */
async function readPastedAnswer(
  answers: AsyncIterable<string>,
  expectedState: string,
  signal: AbortSignal,
  onEvent: (event: LoginEvent) => void,
): Promise<AuthorizationCode | null> {
  const iterator = answers[Symbol.asyncIterator]();
  const stop = (): void => {
    Promise.resolve(iterator.return?.()).catch(() => {});
  };
  signal.addEventListener('abort', stop, { once: true });
  let wrongStates = 0;
  try {
    for (;;) {
      const next = await nextLine(iterator, signal);
      if (next.done) return null;
      if (typeof next.value !== 'string' || next.value.trim() === '') continue;
      let answer: AuthorizationCode;
      try {
        answer = parseAuthCode(next.value);
      } catch (error) {
        if (error instanceof OAuthFlowError && error.code === 'invalid_code') {
          onEvent({ type: 'invalid_answer', error });
          continue;
        }
        throw error;
      }
      try {
        return checkState(answer, expectedState, 'paste');
      } catch (error) {
        // A code from an older tab or another terminal's login: a slip, so ask again (a few times).
        if (!(error instanceof OAuthFlowError && error.code === 'state_mismatch')) throw error;
        if (++wrongStates >= MAX_WRONG_STATES) throw error;
        onEvent({
          type: 'invalid_answer',
          error: new OAuthFlowError(
            'state_mismatch',
            'The pasted code is from another login attempt (its state does not match this one). Paste the code from the page this login opened.',
          ),
        });
      }
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

/** The wait for an answer under the timeout and the caller's signal; `run` gets the combined signal. */
async function waitForAnswer(
  options: InteractiveLoginOptions,
  run: (signal: AbortSignal) => Promise<Answer>,
): Promise<Answer> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new OAuthFlowError('invalid_config', `The login timeout must be a positive number of milliseconds.`);
  }
  const done = new AbortController();
  // A referenced timer: the wait itself keeps the process alive, even with nothing else to do.
  const timer = setTimeout(() => done.abort(new DOMException('timeout', 'TimeoutError')), timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, done.signal]) : done.signal;
  try {
    return await Promise.race([run(signal), whenAborted(signal)]);
  } catch (error) {
    if (done.signal.aborted && !options.signal?.aborted) {
      throw new OAuthFlowError(
        'timeout',
        `No answer from the browser within ${describeDuration(timeoutMs)}. Start the login again.`,
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
    // Cancels whichever side lost the race.
    if (!done.signal.aborted) done.abort(new DOMException('The login has an answer.', 'AbortError'));
  }
}

/** Shows the URL, then opens the browser without waiting on it: a failure is only reported. */
function present(url: string, options: InteractiveLoginOptions, onEvent: (event: LoginEvent) => void): void {
  options.onUrl?.(url);
  const open = options.openBrowser ?? defaultOpenBrowser;
  if (open === false) return;
  Promise.resolve()
    .then(() => open(url))
    .catch((error: unknown) => onEvent({ type: 'browser_failed', error }));
}

async function exchangeAndSave<L extends StoredLogin>(
  answer: Answer,
  oauthState: OAuthState,
  options: InteractiveLoginOptions,
  onEvent: (event: LoginEvent) => void,
  flow: LoginFlow<L>,
): Promise<L> {
  onEvent({ type: 'answered', via: answer.via });
  const exchanged = await exchangeCodeForTokens({
    expiresIn: flow.expiresIn,
    code: answer.code,
    state: answer.state,
    oauthState,
    config: options.oauthConfig,
    fetch: options.fetch,
    env: options.env,
    signal: options.signal,
  });
  const login = await flow.finish(exchanged);
  if (options.tokenStorage !== undefined) await saveLogin(options.tokenStorage, login);
  return login;
}

/**
 * The browser login: a loopback listener and a pasted answer race for the code; the winner's code
 * is exchanged with the loopback redirect URI. Resolves the tokens (saved when `tokenStorage` is given).
 */
export function loginWithLoopback(options: LoopbackLoginOptions = {}): Promise<OAuthTokens> {
  return loopbackFlow(options, PLAIN_FLOW);
}

/** `loginWithLoopback` for any flow. */
export async function loopbackFlow<L extends StoredLogin>(
  options: LoopbackLoginOptions,
  flow: LoginFlow<L>,
): Promise<L> {
  const onEvent = options.onEvent ?? (() => {});
  const listener = await startLoopbackListener({
    port: options.port,
    signal: options.signal,
    onStrayCallback: () => onEvent({ type: 'stray_callback' }),
  });
  try {
    onEvent({ type: 'listening', redirectUri: listener.redirectUri, addresses: listener.addresses });
    const { url, oauthState } = await buildAuthorizationUrl(options.oauthConfig, {
      redirectUri: listener.redirectUri,
      env: options.env,
    });
    const fromBrowser = listener.waitForCallback(oauthState.state);
    // Rejects with an AbortError when the paste wins or the wait ends; that is not a failure.
    fromBrowser.catch(() => {});
    present(url, options, onEvent);
    const pasted = options.pastedAnswers;
    const answer = await waitForAnswer(options, (signal) => {
      const racers: Promise<Answer>[] = [fromBrowser.then((code) => ({ ...code, via: 'browser' as const }))];
      if (pasted) {
        racers.push(
          readPastedAnswer(pasted, oauthState.state, signal, onEvent).then((code) =>
            // The input ended: the browser may still answer.
            code ? { ...code, via: 'paste' as const } : new Promise<never>(() => {}),
          ),
        );
      }
      return Promise.race(racers);
    });
    await listener.close();
    return await exchangeAndSave(answer, oauthState, options, onEvent, flow);
  } finally {
    await listener.close();
  }
}

/** The manual login: the redirect URI is the page that shows `CODE#STATE`; the answer is pasted. */
export function loginManually(options: InteractiveLoginOptions = {}): Promise<OAuthTokens> {
  return manualFlow(options, PLAIN_FLOW);
}

/** `loginManually` for any flow. */
export async function manualFlow<L extends StoredLogin>(
  options: InteractiveLoginOptions,
  flow: LoginFlow<L>,
): Promise<L> {
  const onEvent = options.onEvent ?? (() => {});
  const pasted = options.pastedAnswers;
  if (!pasted) throw new TypeError('loginManually needs pastedAnswers: the lines the user pastes.');
  const { url, oauthState } = await buildAuthorizationUrl(options.oauthConfig, { env: options.env });
  present(url, options, onEvent);
  const answer = await waitForAnswer(options, async (signal) => {
    const code = await readPastedAnswer(pasted, oauthState.state, signal, onEvent);
    if (!code) {
      throw new OAuthFlowError(
        'invalid_code',
        'The input ended before a code was pasted. Start the login again and paste the CODE#STATE the page shows.',
      );
    }
    return { ...code, via: 'paste' };
  });
  return exchangeAndSave(answer, oauthState, options, onEvent, flow);
}
