import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64url, generatePkce, pkceChallenge, randomBase64url } from '../src/pkce.js';

const UNRESERVED = /^[A-Za-z0-9\-._~]{43,128}$/;

describe('pkceChallenge', () => {
  it('matches the RFC 7636 Appendix B vector', async () => {
    await expect(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).resolves.toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('is unpadded base64url of SHA-256', async () => {
    const challenge = await pkceChallenge('some-verifier');
    expect(challenge).toBe(createHash('sha256').update('some-verifier').digest('base64url'));
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('generatePkce (seed: TestOAuthAuth.test_generate_pkce)', () => {
  it('returns a 43–128 character verifier from the unreserved set, distinct from its challenge', async () => {
    const { verifier, challenge } = await generatePkce();
    expect(verifier).toMatch(UNRESERVED);
    expect(verifier.length).toBeGreaterThanOrEqual(43);
    expect(verifier.length).toBeLessThanOrEqual(128);
    expect(challenge).not.toBe(verifier);
  });

  it('derives the challenge as S256 of the verifier', async () => {
    for (let i = 0; i < 20; i++) {
      const { verifier, challenge } = await generatePkce();
      expect(challenge).toBe(createHash('sha256').update(verifier, 'ascii').digest('base64url'));
      await expect(pkceChallenge(verifier)).resolves.toBe(challenge);
    }
  });

  it('never repeats a verifier over many calls', async () => {
    const verifiers = new Set<string>();
    for (let i = 0; i < 500; i++) verifiers.add((await generatePkce()).verifier);
    expect(verifiers.size).toBe(500);
  });
});

describe('base64url helpers', () => {
  it('encodes without padding or + and /', () => {
    expect(base64url(new Uint8Array([0xfb, 0xff, 0xfe]))).toBe('-__-');
    expect(base64url(new Uint8Array([1]))).toBe('AQ');
  });

  it('encodes only the view of a larger buffer', () => {
    const buffer = new Uint8Array([9, 9, 0xfb, 0xff, 0xfe, 9]);
    expect(base64url(buffer.subarray(2, 5))).toBe('-__-');
  });

  it('randomBase64url(n) gives ceil(4n/3) unreserved characters, different each time', () => {
    const a = randomBase64url(32);
    const b = randomBase64url(32);
    expect(a).toHaveLength(43);
    expect(a).toMatch(UNRESERVED);
    expect(a).not.toBe(b);
    expect(randomBase64url(96)).toHaveLength(128);
  });
});
