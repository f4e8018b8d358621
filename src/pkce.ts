/**
 * PKCE (RFC 7636) with the S256 method.
 *
 * - The verifier is base64url of 32 random bytes from WebCrypto: 43 characters from the unreserved
 *   set, the minimum length §4.1 allows and the size of the SHA-256 it is hashed to.
 * - The challenge is base64url(SHA-256(ASCII(verifier))) without padding (§4.2).
 */
// The global WebCrypto (Node 20+), read when needed: importing `node:crypto`, or touching
// `globalThis.crypto`, loads Node's crypto modules, about a quarter of this package's import time.

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** `bytes` random bytes from the platform CSPRNG, as base64url. */
export function randomBase64url(bytes: number): string {
  return base64url(globalThis.crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The S256 challenge of a verifier. */
export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export async function generatePkce(): Promise<Pkce> {
  const verifier = randomBase64url(32);
  return { verifier, challenge: await pkceChallenge(verifier) };
}
