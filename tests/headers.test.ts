import { describe, expect, it } from 'vitest';
import { applyOAuthBetas, mergeBetas } from '../src/headers.js';

describe('mergeBetas', () => {
  it('keeps the order of first appearance, trims, and drops empties and duplicates', () => {
    expect(mergeBetas(['a', 'b'], [' b', 'c ', ''], ['a', 'd'])).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('applyOAuthBetas', () => {
  it('puts the configured betas first, always includes the OAuth beta, keeps the request ones, drops x-api-key', () => {
    const headers = new Headers({ 'anthropic-beta': 'files-api-2025-04-14,mine', 'x-api-key': 'placeholder' });
    applyOAuthBetas(headers, ['mine', 'other']);
    expect(headers.get('anthropic-beta')).toBe('mine,other,oauth-2025-04-20,files-api-2025-04-14');
    expect(headers.has('x-api-key')).toBe(false);
  });
});
