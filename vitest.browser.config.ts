import { defineConfig } from 'vitest/config';

/** `npm run test:browser`: the login in a real headless Chromium (/usr/bin/chromium). */
export default defineConfig({
  test: {
    include: ['tests/browser/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One Chromium at a time: the tests are about the flow, not about load.
    fileParallelism: false,
  },
});
