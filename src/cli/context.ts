/**
 * What a command may touch, in one object: the environment, the three streams, the browser opener
 * and the clock. `main` builds it from `process`; nothing below `cli/` prints.
 *
 * Policy: data goes to stdout, messages to stderr. An error is one line saying what happened and
 * what to do next; `--debug` adds its code and cause chain. Every line written to stderr passes
 * through `scrub`, so an Anthropic token that slipped into a cause message is still masked.
 * Every line written to either stream passes through `forTerminal`: text from a server (error
 * descriptions, account and organization names), a file or the command line cannot move the
 * cursor, retitle the window, hide text or make a link. JSON output keeps such characters as
 * `\uXXXX` escapes (`jsonText`), so the data stays exact and the terminal safe.
 */
import type { Readable, Writable } from 'node:stream';
import { openBrowser } from '../browser.js';
import { errnoCode, OAuthFlowError, TokenStorageError } from '../errors.js';
import { maskToken } from '../mask-token.js';
import type { FetchLike } from '../types.js';
import { PROGRAM } from './args.js';
import { EXIT, type ExitCode, exitCodeFor, UsageError } from './exit.js';
import { exactHints } from './hint.js';
import { httpFetch } from './http-fetch.js';
import { type OutputName, processOutput } from './output.js';

export type Env = Record<string, string | undefined>;

export interface CliStreams {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
}

export interface CliDeps extends CliStreams {
  env: Env;
  /**
   * Writes `text` on stdout or stderr; default: that stream's `write`. The process's own deps write
   * without building the stream objects until a command needs one (`output.ts`).
   */
  write?: (to: OutputName, text: string) => void;
  /** The `fetch` of the command's own requests; default: the library's (the global `fetch`). */
  fetch?: FetchLike | undefined;
  openBrowser: (url: string) => Promise<void>;
  /** Epoch milliseconds. */
  now: () => number;
}

export interface CliContext extends CliDeps {
  readonly debug: boolean;
  /** The exact `login` command for the login in use (`hint.ts`); generic ones are rewritten to it. */
  readonly loginCommand: string;
  /** A line of data on stdout. */
  out(text: string): void;
  /**
   * A line on stdout that keeps the SGR colour codes the caller added itself: every piece of text in
   * it must already have been through `forTerminal` (or `oneLine`).
   */
  outPainted(text: string): void;
  /** A line for people on stderr. */
  say(text: string): void;
  /** A `debug:` line on stderr, only with `--debug`. */
  trace(text: string): void;
  /** Prints `error` as one line (plus details with `--debug`) and returns its exit code. */
  fail(error: unknown): ExitCode;
  /**
   * Prints `line` (an error, `Error: …`) on stderr and, with `--json`, the error object
   * `{ "error": { "code", "message", "hint" } }` on stdout; returns `exitCode`.
   */
  report(error: unknown, line: string, exitCode: ExitCode, hint?: string): ExitCode;
  /** True when stderr is a terminal: spinners and check marks. */
  readonly fancy: boolean;
}

const ANTHROPIC_TOKEN = /sk-ant-[a-z]+\d*-[A-Za-z0-9_-]+/g;

const ESC = 0x1b;
/** 8-bit CSI, and the 8-bit introducers of control strings (DCS, SOS, OSC, PM, APC). */
const C1_CSI = 0x9b;
const C1_STRINGS = new Set([0x90, 0x98, 0x9d, 0x9e, 0x9f]);
/** After ESC: these letters open a control string that runs to BEL or ST (OSC, DCS, SOS, PM, APC). */
const ESC_STRINGS = new Set([']', 'P', 'X', '^', '_']);

/** C0 and C1 controls (but tab and newline), DEL, and the bidirectional overrides and isolates. */
function isUnsafe(code: number): boolean {
  return (
    (code < 0x20 && code !== 0x09 && code !== 0x0a) ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/** The index after the control sequence starting at `i` (ECMA-48: CSI, control strings, ESC Fe/Fp). */
function skipSequence(text: string, i: number): number {
  const code = text.charCodeAt(i);
  let j = i + 1;
  const csi = code === C1_CSI || (code === ESC && text[j] === '[');
  const controlString = C1_STRINGS.has(code) || (code === ESC && ESC_STRINGS.has(text[j] ?? ''));
  if (code === ESC && (csi || controlString)) j++;
  if (csi) {
    while (j < text.length && text.charCodeAt(j) >= 0x20 && text.charCodeAt(j) <= 0x3f) j++;
    // The final byte, if there is one.
    if (j < text.length && text.charCodeAt(j) >= 0x40 && text.charCodeAt(j) <= 0x7e) j++;
    return j;
  }
  if (controlString) {
    // Up to BEL, ST (ESC \ or 0x9c), or the end: an unterminated string swallows the rest.
    for (; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (c === 0x07 || c === 0x9c) return j + 1;
      if (c === ESC) return text[j + 1] === '\\' ? j + 2 : j;
    }
    return j;
  }
  if (code === ESC) {
    while (j < text.length && text.charCodeAt(j) >= 0x20 && text.charCodeAt(j) <= 0x2f) j++;
    if (j < text.length && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x7e) j++;
  }
  return j;
}

/**
 * `text` made safe to print: escape sequences (7- and 8-bit CSI, OSC and other control strings)
 * removed whole, then every other control character but tab and newline, DEL and bidirectional
 * overrides removed. The one function every string passes through on its way to the terminal.
 */
export function forTerminal(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    const code = text.charCodeAt(i);
    if (code === ESC || code === C1_CSI || C1_STRINGS.has(code)) {
      i = skipSequence(text, i);
    } else {
      if (!isUnsafe(code)) out += text[i];
      i++;
    }
  }
  return out;
}

/** `forTerminal`, with tabs and newlines turned into spaces: one value, one line. */
export function oneLine(text: string): string {
  return forTerminal(text).replace(/[\t\n]/g, ' ');
}

/** `JSON.stringify(value, null, 2)` with the characters `forTerminal` removes kept as `\uXXXX` escapes. */
export function jsonText(value: unknown): string {
  const text = JSON.stringify(value, null, 2);
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    // JSON.stringify escapes C0 already; tab and newline here are its own indentation.
    out += isUnsafe(code) ? `\\u${code.toString(16).padStart(4, '0')}` : char;
  }
  return out;
}

/** Masks anything shaped like an Anthropic token. */
export function scrub(text: string): string {
  return text.replace(ANTHROPIC_TOKEN, (token) => maskToken(token));
}

/**
 * The process's environment, streams and clock. Each stream is built on first access (`process.stdin`
 * too: building it loads what `process.stdout` would), and lines are written without them (`output.ts`).
 */
export function defaultDeps(): CliDeps {
  const outputs = { stdout: processOutput('stdout'), stderr: processOutput('stderr') };
  return {
    env: process.env,
    get stdin() {
      return process.stdin;
    },
    get stdout() {
      return outputs.stdout.stream;
    },
    get stderr() {
      return outputs.stderr.stream;
    },
    write: (to, text) => outputs[to].write(text),
    // Not the global `fetch`: its first request costs a command more than the rest of it (http-fetch.ts).
    fetch: httpFetch,
    openBrowser,
    now: () => Date.now(),
  };
}

/** The `--debug` lines for an error: its code and fields, then each cause. Never a secret. */
export function describeError(error: unknown): string[] {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 6; depth++) {
    const label = depth === 0 ? 'error' : 'caused by';
    if (current instanceof OAuthFlowError) {
      const details = [`code=${current.code}`];
      if (current.status !== undefined) details.push(`status=${current.status}`);
      if (current.body) details.push(`body.error=${current.body.error}`);
      if (current.retryAfter !== undefined) details.push(`retry_after=${current.retryAfter}s`);
      lines.push(`${label}: ${current.name} ${details.join(' ')}`);
    } else if (current instanceof TokenStorageError) {
      lines.push(`${label}: ${current.name} code=${current.code}${current.path ? ` path=${current.path}` : ''}`);
    } else if (current instanceof Error) {
      const code = errnoCode(current);
      lines.push(`${label}: ${current.name}${code ? ` (${code})` : ''}: ${current.message}`);
    } else {
      lines.push(`${label}: ${String(current)}`);
      break;
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  return lines;
}

/** One line: the error's own message for ours, which already says what to do next. Safe to print. */
export function errorLine(error: unknown, debug: boolean): string {
  return scrub(forTerminal(rawErrorLine(error, debug)));
}

function rawErrorLine(error: unknown, debug: boolean): string {
  if (error instanceof UsageError) {
    const help = error.command ? `${PROGRAM} ${error.command} --help` : `${PROGRAM} --help`;
    return `Error: ${error.message} Run \`${help}\` for usage.`;
  }
  if (error instanceof OAuthFlowError || error instanceof TokenStorageError) return `Error: ${error.message}`;
  const message = error instanceof Error ? error.message : String(error);
  return `Error: ${message.replace(/\s+/g, ' ').trim()}${debug ? '' : ' (run again with --debug for details)'}`;
}

export interface ContextOptions {
  /** The exact `login` command (`hint.ts`); default the generic one. */
  loginCommand?: string | undefined;
  /** `--json`: errors are also printed as a JSON object on stdout. */
  json?: boolean | undefined;
}

/** The stable code of an error for the JSON error object. */
function codeOf(error: unknown): string {
  if (error instanceof UsageError) return 'usage';
  if (error instanceof OAuthFlowError || error instanceof TokenStorageError) return error.code;
  // A described API error (`describeApiError`'s code), passed as `{ code }`.
  const code = (error as { code?: unknown } | null)?.code;
  if (!(error instanceof Error) && typeof code === 'string') return code;
  const name = error instanceof Error ? error.name : '';
  if (name.startsWith('APIConnection')) return 'network_error';
  return 'error';
}

export function createContext(deps: CliDeps, debug: boolean, options: ContextOptions = {}): CliContext {
  const loginCommand = options.loginCommand ?? `npx ${PROGRAM} login`;
  const print = (to: OutputName, text: string): void => {
    if (deps.write) deps.write(to, text);
    else deps[to].write(text);
  };
  const write = (to: OutputName, text: string): void => print(to, `${forTerminal(text)}\n`);
  const say = (text: string): void => write('stderr', exactHints(scrub(forTerminal(text)), loginCommand));
  const report = (error: unknown, line: string, exitCode: ExitCode, hint?: string): ExitCode => {
    say(line);
    if (options.json) {
      const message = exactHints(scrub(forTerminal(line)), loginCommand).replace(/^Error: /, '');
      // The command the message itself gives (`setup-token --save` for a long-lived login), else `login`.
      const named = new RegExp(`\`(npx ${PROGRAM} [^\`]+)\``).exec(message)?.[1];
      const loginHint =
        exitCode === EXIT.notLoggedIn || exitCode === EXIT.loginAgain
          ? named !== undefined && !named.includes(' login')
            ? `Run \`${named}\`.`
            : `Run \`${loginCommand}\` to sign in.`
          : null;
      const body = {
        code: codeOf(error),
        message,
        hint: hint === undefined ? loginHint : exactHints(scrub(forTerminal(hint)), loginCommand),
      };
      print('stdout', `${jsonText({ error: body })}\n`);
    }
    return exitCode;
  };
  const trace = (text: string): void => {
    if (debug) say(`debug: ${text}`);
  };
  // Not `...deps`: that would read (and build) each stream.
  return {
    env: deps.env,
    openBrowser: deps.openBrowser,
    now: deps.now,
    write: deps.write,
    fetch: deps.fetch,
    get stdin() {
      return deps.stdin;
    },
    get stdout() {
      return deps.stdout;
    },
    get stderr() {
      return deps.stderr;
    },
    debug,
    loginCommand,
    get fancy() {
      return deps.stderr.isTTY === true;
    },
    out: (text) => write('stdout', text),
    outPainted: (text) => print('stdout', `${text}\n`),
    say,
    trace,
    report,
    fail(error) {
      report(error, errorLine(error, debug), error === undefined ? EXIT.error : exitCodeFor(error));
      for (const line of describeError(error)) trace(line);
      return error === undefined ? EXIT.error : exitCodeFor(error);
    },
  };
}
