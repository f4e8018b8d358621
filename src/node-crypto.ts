/**
 * `node:crypto`, loaded on first use. Importing it at the top of a module loads Node's crypto
 * modules at start, and `token` with a fresh token (bench §5, tests/module-graph.test.ts) never
 * hashes anything: only a refresh and a rescued login do.
 */
import { createRequire } from 'node:module';

type NodeCrypto = typeof import('node:crypto');

let loaded: NodeCrypto | undefined;

const load = (): NodeCrypto =>
  // A built-in resolves the same from any path; `/` spares reading this module's own location.
  (loaded ??= createRequire('/')('node:crypto') as NodeCrypto);

/** The SHA-256 of `text`, as lowercase hex. */
export const sha256Hex = (text: string): string => load().createHash('sha256').update(text).digest('hex');
