/**
 * The faults `anthropic-oauth emulator --fault NAME` can queue, by name, with what each does: the
 * command line and the help read this table without loading the emulator (`commands/emulator.ts`
 * maps each name to the emulator's `faults` control). Each `--fault` queues one occurrence, for the
 * endpoint's next call; repeat it to queue more.
 */
export const EMULATOR_FAULTS = {
  'token-server-error': 'the token endpoint answers 500 server_error',
  'token-rate-limited': 'the token endpoint answers 429 with Retry-After: 30',
  'token-malformed': 'the token endpoint answers 200 with a body that is not a token response',
  'token-hang': 'the token endpoint reads the request and never answers',
  'token-reset': 'the token endpoint processes the request (a refresh rotates), then drops the connection',
  'messages-rate-limited': '/v1/messages answers 429 rate_limit_error (5-hour window, resets in 1 h)',
  'messages-extra-usage-required': '/v1/messages answers 400 "Third-party apps now draw from your extra usage"',
  'messages-out-of-extra-usage': '/v1/messages answers 400 "You\'re out of extra usage"',
  'messages-claude-code-only': '/v1/messages answers 400 "only authorized for use with Claude Code"',
  'messages-oauth-not-supported': '/v1/messages answers 401 "OAuth authentication is currently not supported"',
  'profile-malformed': 'the profile endpoint answers 200 with a body that is not JSON',
  'usage-malformed': 'the usage endpoint answers 200 with a body that is not JSON',
} as const;

export type EmulatorFaultName = keyof typeof EMULATOR_FAULTS;

export const EMULATOR_PLANS = ['pro', 'max', 'max_20x', 'team', 'enterprise'] as const;

export function isFaultName(name: string): name is EmulatorFaultName {
  return Object.hasOwn(EMULATOR_FAULTS, name);
}
