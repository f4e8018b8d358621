import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

// The wire identity of the client, exactly as docs/protocol.md gives it.
describe('constants', () => {
  it('match the protocol notes', () => {
    expect({
      DEFAULT_OAUTH_BETAS: api.DEFAULT_OAUTH_BETAS,
      DEFAULT_CLIENT_ID: api.DEFAULT_CLIENT_ID,
      DEFAULT_REDIRECT_URI: api.DEFAULT_REDIRECT_URI,
      DEFAULT_TOKEN_URL: api.DEFAULT_TOKEN_URL,
      DEFAULT_AUTHORIZE_URL: api.DEFAULT_AUTHORIZE_URL,
      DEFAULT_SCOPES: api.DEFAULT_SCOPES,
      DEFAULT_USER_AGENT: api.DEFAULT_USER_AGENT,
      EXPIRY_BUFFER_SECONDS: api.EXPIRY_BUFFER_SECONDS,
    }).toMatchInlineSnapshot(`
      {
        "DEFAULT_AUTHORIZE_URL": "https://claude.ai/oauth/authorize",
        "DEFAULT_CLIENT_ID": "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
        "DEFAULT_OAUTH_BETAS": [
          "oauth-2025-04-20",
          "interleaved-thinking-2025-05-14",
          "claude-code-20250219",
          "fine-grained-tool-streaming-2025-05-14",
        ],
        "DEFAULT_REDIRECT_URI": "https://platform.claude.com/oauth/code/callback",
        "DEFAULT_SCOPES": "org:create_api_key user:profile user:inference",
        "DEFAULT_TOKEN_URL": "https://platform.claude.com/v1/oauth/token",
        "DEFAULT_USER_AGENT": "claude-cli/2.1.2 (external, cli)",
        "EXPIRY_BUFFER_SECONDS": 300,
      }
    `);
  });

  it('the beta list cannot be mutated by a user', () => {
    expect(Object.isFrozen(api.DEFAULT_OAUTH_BETAS)).toBe(true);
  });
});
