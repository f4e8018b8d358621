import { describe, expect, it } from 'vitest';
import { mergeBetas, oauthBetaApplier } from '../src/headers.js';

describe('mergeBetas', () => {
  it('keeps the order of first appearance, trims, and drops empties and duplicates', () => {
    expect(mergeBetas(['a', 'b'], [' b', 'c ', ''], ['a', 'd'])).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('oauthBetaApplier', () => {
  it('puts the configured betas first, always includes the OAuth beta, keeps the request ones, drops x-api-key', () => {
    const apply = oauthBetaApplier(['mine', 'other']);
    const headers = new Headers({ 'anthropic-beta': 'files-api-2025-04-14,mine', 'x-api-key': 'placeholder' });
    apply(headers);
    expect(headers.get('anthropic-beta')).toBe('mine,other,oauth-2025-04-20,files-api-2025-04-14');
    expect(headers.has('x-api-key')).toBe(false);
  });

  it('sets the configured betas and the OAuth beta when the request has none', () => {
    const headers = new Headers();
    oauthBetaApplier(['mine'])(headers);
    expect(headers.get('anthropic-beta')).toBe('mine,oauth-2025-04-20');
  });

  it('gives the same answer for a header value it has seen, and for more values than it remembers', () => {
    const apply = oauthBetaApplier(['mine']);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 100; i++) {
        const headers = new Headers({ 'anthropic-beta': `beta-${i}, mine` });
        apply(headers);
        expect(headers.get('anthropic-beta')).toBe(`mine,oauth-2025-04-20,beta-${i}`);
      }
    }
  });
});
