import { defineConfig } from 'vitest/config';

/**
 * The keychain tests need a real Secret Service: run them with `npm run test:keychain`, which
 * starts a private D-Bus session and gnome-keyring (scripts/with-secret-service.sh). `npm test`
 * leaves them out (vitest.config.ts excludes tests/keychain.test.ts).
 */
export default defineConfig({
  test: {
    include: ['tests/keychain.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
