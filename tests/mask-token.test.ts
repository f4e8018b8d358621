import { describe, expect, it } from 'vitest';
import { maskToken } from '../src/index.js';

describe('maskToken', () => {
  it('keeps only the public prefix of Anthropic tokens', () => {
    expect(maskToken('sk-ant-oat01-Abc-Def_ghiJKL0123456789')).toBe('sk-ant-oat01-…');
    expect(maskToken('sk-ant-ort01-secret-with-dashes')).toBe('sk-ant-ort01-…');
  });

  it('shows four characters of other long tokens and nothing of short ones', () => {
    expect(maskToken('abcdefghijklmnopqrstuvwxyz')).toBe('abcd…');
    expect(maskToken('short-secret')).toBe('…');
  });
});
