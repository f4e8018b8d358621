/**
 * A separate process for tests/keychain-rescue.test.ts (run with `node --import tsx`): a token
 * source on a KeychainTokenStore whose keychain is a `FileKeychain` shared with the test and its
 * other children, HOME (so the lock and rescue files) inherited. Argument: one JSON object
 * `{ keychainFile, policy, oauthConfig, shiftSeconds }`; output: one JSON line with the sha256 of
 * the access token it got (never a token), or its error's code.
 */
import { createHash } from 'node:crypto';
import { KeychainTokenStore, type OAuthConfig } from '../src/index.js';
import { createTokenSource } from '../src/provider.js';
import { FileKeychain, type FileKeychainPolicy } from './helpers/keychain.js';

const args = JSON.parse(process.argv[2] ?? '{}') as {
  keychainFile: string;
  policy: FileKeychainPolicy;
  oauthConfig: OAuthConfig;
  shiftSeconds: number;
};
const store = new KeychainTokenStore({
  account: 'test',
  backend: new FileKeychain(args.keychainFile, args.policy),
  onFallback: () => {},
});
const source = createTokenSource({
  oauthConfig: args.oauthConfig,
  env: {},
  tokenStorage: store,
  now: () => Math.floor(Date.now() / 1000) + args.shiftSeconds,
});
try {
  const tokens = await source.getTokens();
  process.stdout.write(
    `${JSON.stringify({ access: createHash('sha256').update(tokens.accessToken).digest('hex') })}\n`,
  );
} catch (error) {
  const e = error as { code?: string; message?: string };
  process.stdout.write(`${JSON.stringify({ code: e.code, message: e.message })}\n`);
}
