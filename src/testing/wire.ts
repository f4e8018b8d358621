/**
 * The emulator's own copy of the wire facts (docs/protocol.md): the public client's id, the default
 * scopes, the OAuth beta, the endpoint paths, the token prefixes and the fake identity.
 *
 * Written out here on purpose rather than imported from the library's `constants.ts`: an emulator
 * that borrowed the client's constants would agree with a wrong one, and the tests that run the
 * library against it could no longer catch it.
 */

export const HOST = '127.0.0.1';

/** The real public OAuth client (no secret): accepted unless `clientId` says otherwise. */
export const PUBLIC_CLIENT = Object.freeze({
  id: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
  /** What the token endpoint echoes as `scope` unless `scopes` says otherwise. */
  scopes: 'org:create_api_key user:profile user:inference',
});

/** The beta without which the API refuses an OAuth bearer token. */
export const OAUTH_BETA = 'oauth-2025-04-20';

/** The paths the real services serve these endpoints at (the origin is the emulator's). */
export const PATHS = Object.freeze({
  authorize: '/oauth/authorize',
  manualCallback: '/oauth/code/callback',
  token: '/v1/oauth/token',
  messages: '/v1/messages',
  models: '/v1/models',
  profile: '/api/oauth/profile',
  usage: '/api/oauth/usage',
  /**
   * The Console's authorize page. The real one is `/oauth/authorize` on platform.claude.com (the
   * subscription login's is on claude.ai); one emulator has one origin, so it lives under `/console`.
   */
  consoleAuthorize: '/console/oauth/authorize',
  createApiKey: '/api/oauth/claude_cli/create_api_key',
  roles: '/api/oauth/claude_cli/roles',
});

/** The scope without which no API key is created; dropped from a Console login whose organization forbids keys. */
export const CREATE_API_KEY_SCOPE = 'org:create_api_key';
/** The one scope a custom `expires_in` is allowed for (the long-lived `setup-token` flow). */
export const INFERENCE_SCOPE = 'user:inference';
/** The longest custom `expires_in` honoured: one year, what Claude Code's `setup-token` asks. */
export const MAX_CUSTOM_EXPIRES_IN = 31_536_000;
/** The real answer to an API key the API does not know, on `x-api-key` or as a bearer. */
export const INVALID_API_KEY_MESSAGE = 'invalid x-api-key';
/** The roles an account has unless `roles` says otherwise. */
export const DEFAULT_ROLES = Object.freeze({ organization: 'developer', workspace: 'workspace_developer' });

/** The scope the account endpoints (profile, usage) require. */
export const PROFILE_SCOPE = 'user:profile';

/** Each plan as the profile endpoint describes it (`organization_type`, `rate_limit_tier`). */
export const PLANS = Object.freeze({
  pro: { organizationType: 'claude_pro', rateLimitTier: 'default_claude_pro', pro: true, max: false },
  max: { organizationType: 'claude_max', rateLimitTier: 'default_claude_max_5x', pro: false, max: true },
  max_20x: { organizationType: 'claude_max', rateLimitTier: 'default_claude_max_20x', pro: false, max: true },
  team: { organizationType: 'claude_team', rateLimitTier: 'default_claude_team', pro: false, max: false },
  enterprise: {
    organizationType: 'claude_enterprise',
    rateLimitTier: 'default_claude_enterprise',
    pro: false,
    max: false,
  },
});

/** The usage windows the emulator reports, by wire key, with their default use and time to reset. */
export const USAGE_WINDOWS = Object.freeze({
  five_hour: { option: 'fiveHour', header: '5h', utilization: 37, resetsInSeconds: 2 * 3600 + 14 * 60 },
  seven_day: { option: 'sevenDay', header: '7d', utilization: 12, resetsInSeconds: 3 * 86_400 + 4 * 3600 },
  seven_day_opus: { option: 'sevenDayOpus', header: null, utilization: null, resetsInSeconds: 0 },
  seven_day_sonnet: { option: 'sevenDaySonnet', header: null, utilization: 4, resetsInSeconds: 3 * 86_400 + 4 * 3600 },
} as const);

/**
 * Keys the real usage answer carries that no client knows yet (all `null` in a 2026 capture): sent
 * so that clients are tested against an open map, as the real one is.
 */
export const UNKNOWN_USAGE_KEYS = Object.freeze(['seven_day_oauth_apps', 'seven_day_cowork', 'iguana_necktie']);

export const RATE_LIMIT_HEADER_PREFIX = 'anthropic-ratelimit-unified-';

/** The API's answers to subscription tokens in third-party programs, verbatim (2026 trackers). */
export const SUBSCRIPTION_ERRORS = Object.freeze({
  extraUsageRequired:
    "Third-party apps now draw from your extra usage, not your plan limits. We've added a $20 credit to get you started. Claim it at claude.ai/settings/usage and keep going.",
  extraUsageRequiredOrganization:
    "Third-party apps now draw from extra usage, not plan limits. We've added a credit to your organization to get you started. Ask your workspace admin to claim it and keep going.",
  outOfExtraUsage: "You're out of extra usage. Add more at claude.ai/settings/usage and keep going.",
  claudeCodeOnly:
    'This credential is only authorized for use with Claude Code and cannot be used for other API requests.',
  oauthNotSupported: 'OAuth authentication is currently not supported.',
  rateLimited: "This request would exceed your account's rate limit. Please try again later.",
  scopeMissing: 'OAuth token does not meet scope requirement user:profile',
});

/** Real tokens start like this; the emulator's fake ones do too, so redaction code sees the real shape. */
export const TOKEN_PREFIX = Object.freeze({
  access: 'sk-ant-oat01-',
  refresh: 'sk-ant-ort01-',
  apiKey: 'sk-ant-api03-',
});

/** Seconds an access token lives (about 8 hours, like the real ones). */
export const DEFAULT_ACCESS_TOKEN_TTL = 28_800;
/** Seconds an authorization code lives. */
export const DEFAULT_CODE_TTL = 300;
export const DEFAULT_ACCOUNT = Object.freeze({
  uuid: '5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f',
  emailAddress: 'user@example.com',
});
export const DEFAULT_ORGANIZATION = Object.freeze({
  uuid: '9e8d7c6b-5a49-4382-9170-f6e5d4c3b2a1',
  name: 'Example Org',
});

export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_LOGGED_REQUESTS = 10_000;
