/**
 * What a command may touch, in one object: the environment, the three streams, the browser opener
 * and the clock. `main` builds it from `process`; nothing below `cli/` prints.
 *
 * Policy: data goes to stdout, messages to stderr. An error is one line saying what happened and
 * what to do next; `--debug` adds its code and cause chain. Every line written to stderr passes
 * through `scrub`, so an Anthropic token that slipped into a cause message is still masked.
 */
import type { Readable, Writable } from 'node:stream';
import { openBrowser } from '../browser.js';
import { errnoCode, OAuthFlowError, TokenStorageError } from '../errors.js';
import { maskToken } from '../redact.js';
import { PROGRAM } from './args.js';
import { EXIT, type ExitCode, exitCodeFor, UsageError } from './exit.js';

export type Env = Record<string, string | undefined>;

export interface CliStreams {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
}

export interface CliDeps extends CliStreams {
  env: Env;
  openBrowser: (url: string) => Promise<void>;
  /** Epoch milliseconds. */
  now: () => number;
}

export interface CliContext extends CliDeps {
  readonly debug: boolean;
  /** A line of data on stdout. */
  out(text: string): void;
  /** A line for people on stderr. */
  say(text: string): void;
  /** A `debug:` line on stderr, only with `--debug`. */
  trace(text: string): void;
  /** Prints `error` as one line (plus details with `--debug`) and returns its exit code. */
  fail(error: unknown): ExitCode;
  /** True when stderr is a terminal: spinners and check marks. */
  readonly fancy: boolean;
}

const ANTHROPIC_TOKEN = /sk-ant-[a-z]+\d*-[A-Za-z0-9_-]+/g;

/** Masks anything shaped like an Anthropic token. */
export function scrub(text: string): string {
  return text.replace(ANTHROPIC_TOKEN, (token) => maskToken(token));
}

export function defaultDeps(): CliDeps {
  return {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
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

/** One line: the error's own message for ours, which already says what to do next. */
export function errorLine(error: unknown, debug: boolean): string {
  if (error instanceof UsageError) {
    const help = error.command ? `${PROGRAM} ${error.command} --help` : `${PROGRAM} --help`;
    return `Error: ${error.message} Run \`${help}\` for usage.`;
  }
  if (error instanceof OAuthFlowError || error instanceof TokenStorageError) return `Error: ${error.message}`;
  const message = error instanceof Error ? error.message : String(error);
  return `Error: ${message.replace(/\s+/g, ' ').trim()}${debug ? '' : ' (run again with --debug for details)'}`;
}

export function createContext(deps: CliDeps, debug: boolean): CliContext {
  const write = (stream: Writable, text: string): void => {
    stream.write(`${text}\n`);
  };
  const say = (text: string): void => write(deps.stderr, scrub(text));
  const trace = (text: string): void => {
    if (debug) say(`debug: ${text}`);
  };
  return {
    ...deps,
    debug,
    fancy: deps.stderr.isTTY === true,
    out: (text) => write(deps.stdout, text),
    say,
    trace,
    fail(error) {
      say(errorLine(error, debug));
      for (const line of describeError(error)) trace(line);
      return error === undefined ? EXIT.error : exitCodeFor(error);
    },
  };
}
