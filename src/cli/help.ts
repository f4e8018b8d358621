/** The `--help` texts: the tool's and one per command. */
import {
  ENV_ACCESS_TOKEN,
  ENV_BASE_URL,
  ENV_PROFILE,
  ENV_REDIS_ENCRYPTION_KEY,
  ENV_REDIS_URL,
  ENV_REFRESH_TOKEN,
  ENV_TOKEN_FILE,
  ENV_USER_AGENT,
} from '../env-variables.js';
import { PROGRAM } from './args.js';
import { EMULATOR_FAULTS, EMULATOR_PLANS } from './emulator-faults.js';
import { EXIT_CODES_HELP } from './exit.js';

/**
 * A table of options (or variables): the names, then their description in one column shared by
 * every help text, continuation lines under it. A name too long for the column gets its own line.
 */
export type HelpRow = readonly [names: string, ...description: string[]];

/** Where descriptions start in every options table (`  --timeout SECONDS   give up …`). */
export const OPTION_COLUMN = 24;
/** Where the commands' descriptions start in the main help. */
const COMMAND_COLUMN = 15;
/** The same, for the environment variables (their names are long). */
const ENV_COLUMN = 33;

export function renderRows(rows: readonly HelpRow[], column = OPTION_COLUMN): string {
  const pad = ' '.repeat(column);
  const lines: string[] = [];
  for (const [names, ...description] of rows) {
    const head = `  ${names}`;
    const [first, ...rest] = description;
    if (first === undefined) lines.push(head);
    else if (head.length + 2 <= column) lines.push(`${head.padEnd(column)}${first}`);
    else lines.push(head, `${pad}${first}`);
    for (const line of rest) lines.push(`${pad}${line}`);
  }
  return lines.join('\n');
}

/** Built when asked for: the help texts cost nothing to a command that does not print them. */
const environment = (): string => `Environment:
${renderRows(
  [
    [ENV_TOKEN_FILE, 'token file of the default profile (default', '~/.anthropic/oauth_tokens.json); --storage wins'],
    [ENV_PROFILE, 'profile to use when --profile is not given'],
    [
      ENV_REDIS_URL,
      'with --store redis: redis://[user:password@]host[:port][/db]',
      '(rediss:// for TLS); the login is key anthropic-oauth:PROFILE',
    ],
    [
      ENV_REDIS_ENCRYPTION_KEY,
      'with --store redis: 32 bytes (64 hex digits or base64) to keep',
      'the login encrypted in Redis (AES-256-GCM)',
    ],
    [ENV_ACCESS_TOKEN, 'a login from the environment, used before the token file'],
    [ENV_REFRESH_TOKEN, '(with ANTHROPIC_TOKEN_EXPIRES_AT, epoch seconds)'],
    [
      'ANTHROPIC_OAUTH_AUTHORIZE_URL, ANTHROPIC_OAUTH_TOKEN_URL, ANTHROPIC_OAUTH_CLIENT_ID,\n  ANTHROPIC_OAUTH_SCOPES, ANTHROPIC_OAUTH_REDIRECT_URI',
      'override the OAuth configuration (URLs must be https, except loopback)',
    ],
    [ENV_BASE_URL, 'the API (default https://api.anthropic.com), for status and usage'],
    [
      'ANTHROPIC_OAUTH_PROFILE_URL, ANTHROPIC_OAUTH_USAGE_URL',
      "the account endpoints' whole URLs, instead of the API's paths",
    ],
    [ENV_USER_AGENT, 'the user agent of API requests (default claude-cli/...)'],
    ['NO_COLOR', 'no colours in usage'],
  ],
  ENV_COLUMN,
)}`;

/** The options every command takes. */
const COMMON_ROWS: readonly HelpRow[] = [
  [
    '--profile NAME',
    'use the login of profile NAME, saved in ~/.anthropic/profiles/NAME.json',
    '(NAME: 1-64 of A-Z a-z 0-9 _ . -); default: the default profile',
  ],
  ['--storage PATH', 'token file to use (default ~/.anthropic/oauth_tokens.json); wins over --profile'],
  [
    '--store file|keychain|redis',
    'where the login is kept: the token file (default), the OS keychain',
    '(entry anthropic-oauth/PROFILE; errors exit 1), or Redis, shared by every',
    'machine that reaches it (ANTHROPIC_OAUTH_REDIS_URL, key anthropic-oauth:PROFILE)',
  ],
  [
    '--allow-file-fallback',
    "with --store keychain: use the profile's token file when the keychain is",
    'unavailable or @napi-rs/keyring is not installed, printing a WARNING each time',
  ],
  ['--debug', 'show error codes and causes (never a secret)'],
  ['-h, --help', 'show this help'],
];

/** A command's options: its own, then the common ones. */
function options(own: readonly HelpRow[], common: readonly HelpRow[] = COMMON_ROWS): string {
  return `Options:\n${renderRows([...own, ...common])}`;
}

export const mainHelp =
  (): string => `${PROGRAM}: sign in to Anthropic with your browser, once, for every program on this machine

Usage: ${PROGRAM} <command> [options]

Commands:
${renderRows(
  [
    ['login', 'sign in with your browser and save the login (--console: an API key)'],
    ['status', 'show who is logged in, from where, until when, and the plan'],
    ['token', 'print a valid access token (refreshed first when needed)'],
    ['usage', 'show how much of the 5-hour and weekly limits is used, and the extra usage'],
    ['logout', 'delete the saved login'],
    ['setup-token', 'make a long-lived, inference-only token for CI (printed once, not saved)'],
    ['emulator', "run a local emulator of Anthropic's endpoints, to try all this offline"],
  ],
  COMMAND_COLUMN,
)}

${options([], [...COMMON_ROWS, ['--version', 'print the version']])}

Run \`${PROGRAM} <command> --help\` for a command's options.

Example:
  ${PROGRAM} login
  export ANTHROPIC_AUTH_TOKEN="$(${PROGRAM} token)"

${environment()}

${EXIT_CODES_HELP}
`;

/** A command's help; the main help for a name that is not a command. */
export function commandHelp(command: string): string {
  return commandHelps()[command] ?? mainHelp();
}

const commandHelps = (): Readonly<Record<string, string>> => ({
  login: `Usage: ${PROGRAM} login [options]

Opens your browser on Anthropic's sign-in page and waits for it to come back to a listener on
this machine (127.0.0.1 and ::1 only). If the browser is on another machine, its last page fails
to load: copy that page's address and paste it into the terminal. The login is saved to the
token file (mode 0600).

${options([
  ['--no-browser', 'do not open a browser; only print the URL'],
  ['--manual', 'the page shows a code (CODE#STATE) to paste; no local listener'],
  ['--port N', 'listen on port N (default: a free port)'],
  ['--timeout SECONDS', 'give up after this long (default 300)'],
  [
    '--console',
    'sign in to the Anthropic Console instead and create an API key, billed to',
    'the Console organization: the login saved is that key (the OAuth tokens',
    "that made it are discarded). For programs that are not Anthropic's, this",
    `is the sign-in Anthropic's terms endorse. \`${PROGRAM} token\` prints the key.`,
  ],
])}

Exit codes: 0 logged in, 1 denied or failed (also: the organization does not allow this account
to create API keys, or the key could not be created; nothing is saved then), 2 usage error, 5 network failure,
6 timed out, 130 interrupted. See \`${PROGRAM} --help\`.
`,
  status: `Usage: ${PROGRAM} status [options]

Shows whether you are logged in, where the login comes from (environment variables or the token
file), the account, organization, scopes, when the access token expires, and whether it can be
refreshed. The access token is shown masked. Nothing is refreshed and nothing is asked of the
network: the plan and organization are those saved at login, shown "as of" then (--json: "plan";
\`${PROGRAM} usage\` asks the API). A Console login shows its kind, organization, role and the API
key, masked (--json: "kind": "api_key"). Without
--profile, every saved profile is then listed with its account (--json: a "profiles" array).

${options([
  ['--json', 'print the status as JSON on stdout', '(on failure: {"error": {"code", "message", "hint"}})'],
  ['--offline', 'accepted for scripts; does nothing (status never uses the network)'],
])}

Exit codes: 0 logged in, 3 not logged in, 4 expired with no way to refresh, 1 unreadable file.
`,
  token: `Usage: ${PROGRAM} token [options]

Prints a valid access token on stdout and nothing else, refreshing it first when it is about to
expire (the rotated tokens are saved). On a Console login (\`login --console\`) it prints the API
key (--json: {"api_key": …, "kind": "api_key"}). For example:

  export ANTHROPIC_AUTH_TOKEN="$(${PROGRAM} token)"

${options([
  [
    '--json',
    'print {"access_token": …, "expires_at": epoch seconds} instead',
    '(on failure: {"error": {"code", "message", "hint"}})',
  ],
])}

Exit codes: 0 printed, 3 not logged in, 4 login needed again, 5 network failure.
`,
  usage: `Usage: ${PROGRAM} usage [options]

Shows each usage limit of your subscription (5-hour, weekly, per model) as a bar with the percent
used and the time until it resets, then the extra usage: off, or spent of the monthly limit.
Needs the user:profile scope (a normal login has it). The access token is refreshed first when
needed. Colours only on a terminal, never with NO_COLOR.

${options([
  [
    '--json',
    'print the usage as JSON on stdout (percent 0-100, times in ISO 8601,',
    'extra usage in minor units of its currency, with its "decimalPlaces";',
    'on failure: {"error": {"code", "message", "hint"}})',
  ],
])}

Exit codes: 0 shown, 3 not logged in, 4 log in again (no user:profile scope, login revoked),
5 network failure, API failure or rate limit, 1 unexpected answer.
`,
  emulator: `Usage: ${PROGRAM} emulator [options]

Starts a LOCAL EMULATOR of Anthropic's sign-in, token, API and account endpoints on 127.0.0.1
(not Anthropic: fake user, fake tokens, nothing leaves this machine), prints the export lines that
point this CLI and the library at it, and serves until Ctrl+C (exit 0). Paste the lines into
another shell, then run \`${PROGRAM} login --manual\`, status, token, usage and logout there.
The login goes to the profile "emulator" (--profile NAME: another), never to your real one.

${options(
  [
    ['--port N', 'listen on port N (default: a free port)'],
    ['--plan PLAN', `the subscription it reports: ${EMULATOR_PLANS.join(', ')} (default max)`],
    ['--token-lifetime SECONDS', 'how long an access token lives (default 28800, 8 hours)'],
    ['--fault NAME', "queue one fault for the endpoint's next call (repeat to queue more):"],
    ...Object.entries(EMULATOR_FAULTS).map(([name, what]): HelpRow => [`  ${name}`, what]),
    ['--json', 'print {"url", "env": {NAME: value}, "unset": [NAME], "faults"} instead'],
  ],
  [
    ['--profile NAME', 'the profile the exports name (default emulator)'],
    ['--storage PATH', 'export ANTHROPIC_OAUTH_TOKEN_FILE=PATH instead of a profile'],
    ['--debug', 'show error codes and causes'],
    ['-h, --help', 'show this help'],
  ],
)}

Exit codes: 0 stopped with Ctrl+C, 1 could not start (port taken), 2 usage error.
`,
  logout: `Usage: ${PROGRAM} logout [options]

Deletes the token file (or keychain entry) of the profile, and no other profile's. Running it
again does nothing. A login given by environment variables (ANTHROPIC_OAUTH_ACCESS_TOKEN) is
not affected: unset them yourself. Removing a Console login does not revoke its API key: revoke
it in the Console at https://platform.claude.com/settings/keys.

${options([])}

Exit codes: 0 logged out (or already), 1 the file could not be deleted.
`,
  'setup-token': `Usage: ${PROGRAM} setup-token [options]

Signs in with your browser, as \`login\` does, and makes a long-lived token for CI: it allows
inference only (scope user:inference) and lives one year. It is never refreshed. The token is
printed once on stdout as ANTHROPIC_OAUTH_ACCESS_TOKEN=<token>; put it in that variable (a CI
secret). Its expiry goes to stderr. It is not saved unless --save is given. When it is revoked or
expires, programs using it say so: run this again.

${options([
  ['--save', 'also save it to the token store (as `login` would)'],
  [
    '--json',
    'print {"variable", "access_token", "expires_at": epoch seconds} instead',
    '(on failure: {"error": {"code", "message", "hint"}})',
  ],
  ['--no-browser', 'do not open a browser; only print the URL'],
  ['--manual', 'the page shows a code (CODE#STATE) to paste; no local listener'],
  ['--port N', 'listen on port N (default: a free port)'],
  ['--timeout SECONDS', 'give up after this long (default 300)'],
])}

Exit codes: 0 printed, 1 denied or failed, 2 usage error, 5 network failure, 6 timed out,
130 interrupted.
`,
});
