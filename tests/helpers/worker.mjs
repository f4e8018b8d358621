// A process sharing a token file with others, for tests/multiprocess.test.ts. Uses the BUILT
// package (npm test builds first). Prints one JSON line; never prints a token.
import { AnthropicOAuth, TokenStorage } from 'anthropic-oauth';
import { runRequests } from './requests-loop.mjs';

const [mode, baseURL, tokenFile, ...rest] = process.argv.slice(2);
const oauthConfig = { tokenUrl: `${baseURL}/v1/oauth/token`, authorizeUrl: `${baseURL}/oauth/authorize` };

if (mode === 'requests') {
  const [durationMs, loops] = rest.map(Number);
  const client = new AnthropicOAuth({ baseURL, oauthConfig, tokenStorage: tokenFile });
  await runRequests(client, durationMs, loops);
} else if (mode === 'hold-lock') {
  // Takes the refresh lock and never lets go: the test SIGKILLs this process while it holds it.
  await new TokenStorage(tokenFile).lock(async () => {
    console.log('locked');
    // A timer keeps the process alive (a bare pending promise would let it exit, releasing the lock).
    await new Promise(() => setInterval(() => {}, 1_000));
  });
} else if (mode === 'exit-mid-save') {
  // Calls process.exit() the moment the rotated tokens are handed to the store, before anything is
  // written: the old refresh token is already revoked, so only the exit guard can keep the login.
  // (Without `prepareSave`, whose commit is synchronous and leaves no moment to exit in, the token
  // source saves with `save`, guarded by `saveSync`.)
  class ExitingStorage extends TokenStorage {
    prepareSave = undefined;
    async save() {
      console.log('exiting');
      process.exit(0);
    }
  }
  const client = new AnthropicOAuth({ baseURL, oauthConfig, tokenStorage: new ExitingStorage(tokenFile) });
  await client.getTokens();
  console.log('not reached');
} else if (mode === 'refresh') {
  // One getTokens(): the test may SIGKILL this process while its token request is out.
  const client = new AnthropicOAuth({ baseURL, oauthConfig, tokenStorage: tokenFile });
  console.log('refreshing');
  await client.getTokens();
  console.log(JSON.stringify({ ok: true }));
} else if (mode === 'rewrite') {
  // Saves the current login over and over: the test SIGKILLs this process in the middle of a write.
  const storage = new TokenStorage(tokenFile);
  const tokens = await storage.load();
  console.log('writing');
  for (;;) await storage.save(tokens);
}
