/** Showing a token to a person without revealing it: its public prefix only. */
const KNOWN_PREFIX = /^sk-ant-[a-z]+\d*-/;

/** `sk-ant-oat01-…` for Anthropic tokens; the first 4 characters and `…` for others; `…` for short ones. */
export function maskToken(token: string): string {
  const prefix = KNOWN_PREFIX.exec(token)?.[0];
  if (prefix) return `${prefix}…`;
  return token.length >= 20 ? `${token.slice(0, 4)}…` : '…';
}
