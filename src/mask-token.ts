/** Showing a token to a person without revealing it: its public prefix only. */
const KNOWN_PREFIX = /^sk-ant-[a-z]+\d*-/;

/** `sk-ant-oat01-…` for Anthropic tokens; the first 4 characters and `…` for others; `…` for short ones. */
export function maskToken(token: string): string {
  const prefix = KNOWN_PREFIX.exec(token)?.[0];
  if (prefix) return `${prefix}…`;
  return token.length >= 20 ? `${token.slice(0, 4)}…` : '…';
}

/**
 * The endpoint as an error may name it: origin and path, no query string, no user or password.
 * (The token URL is configuration, not a secret; naming it tells a wrong ANTHROPIC_OAUTH_TOKEN_URL
 * or a proxy problem from an outage.)
 */
export function endpointName(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'the configured URL';
  }
}
