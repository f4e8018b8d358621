/**
 * Exit codes, one per thing a script may want to act on, and the mapping from library errors.
 * They are part of the command's interface: listed in `--help` and in the README.
 */
import { OAuthFlowError } from '../errors.js';

export const EXIT = {
  ok: 0,
  /** Anything not listed below (denied, wrong state, unreadable token file, bad configuration). */
  error: 1,
  usage: 2,
  notLoggedIn: 3,
  /** The stored login expired or was revoked: `login` again. */
  loginAgain: 4,
  /** The token endpoint could not be reached, timed out, was rate limiting or failing (5xx). */
  network: 5,
  /** `login` gave up waiting for the browser (`--timeout`). */
  loginTimeout: 6,
  /** Ctrl+C (128 + SIGINT). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    error (denied, wrong state, unreadable token file, bad configuration)
  2    usage error (unknown command or option, bad value)
  3    not logged in
  4    login needed again (the login expired or was revoked)
  5    network failure (token endpoint unreachable, timed out, rate limiting or failing)
  6    login timed out waiting for the browser
  130  interrupted (Ctrl+C)`;

/** A mistake in the command line itself. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command whose `--help` to point to, if any. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return EXIT.usage;
  if (!(error instanceof OAuthFlowError)) return EXIT.error;
  switch (error.code) {
    case 'not_logged_in':
      return EXIT.notLoggedIn;
    case 'reauth_required':
    case 'invalid_grant':
      return EXIT.loginAgain;
    case 'network_error':
    case 'timeout':
    case 'rate_limited':
      return EXIT.network;
    case 'token_endpoint_error':
      return error.status !== undefined && error.status >= 500 ? EXIT.network : EXIT.error;
    default:
      return EXIT.error;
  }
}
