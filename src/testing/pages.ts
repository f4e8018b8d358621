/**
 * The HTML pages of the emulator: the consent page, the manual "paste this code" page and the
 * error page, plus the tiny reader `approve()`/`deny()` use to fill the consent form.
 *
 * Policy: every interpolated value is HTML-escaped (the query string is attacker-controlled in a
 * real browser); the only script is the code page's copy button, a fixed text allowed by its hash
 * (`PAGE_SCRIPT_HASH`), so a strict Content-Security-Policy is sent with every page (no network, no
 * other script: the copy puts the code on the clipboard and nowhere else). Every page says plainly
 * at the top that it is a local emulator, not Anthropic, and fits a phone-width window (360 px);
 * the markup is small, stable and has fixed ids (`#approve`, `#deny`, `#auth-code`) because browser
 * tests and users' own tests select on them. Renderer and reader live together so they cannot drift:
 * one table of entities serves both escaping and unescaping (the emulator keeps its own rather than
 * reach into the library's internals).
 */

import { createHash } from 'node:crypto';

/** The account and organization the consent page says will be shared. */
export interface PageIdentity {
  account: { uuid: string; emailAddress: string };
  organization: { uuid: string; name: string };
}

export interface AuthorizePageInput extends PageIdentity {
  clientId: string;
  /** The requested scopes, already split on whitespace. */
  scopes: readonly string[];
  redirectUri: string;
  /** True when the code will be shown to the user instead of sent to a local listener. */
  manual: boolean;
  /** Path the form posts to. */
  action: string;
  /** Every authorize parameter, carried over as a hidden input. */
  fields: ReadonlyArray<readonly [string, string]>;
}

/** What the consent page's form would submit, as read back from its HTML. */
export interface AuthorizeForm {
  action: string;
  fields: Array<[string, string]>;
}

/** Plain-language descriptions of the scopes docs/protocol.md lists; unknown scopes are shown raw. */
const SCOPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'org:create_api_key': 'Create API keys in your organization',
  'user:profile': 'Read your profile (name, email, organization)',
  'user:inference': 'Send messages to Claude on your behalf',
  'user:sessions:claude_code': 'Use your Claude Code sessions',
  'user:mcp_servers': 'Use your connected MCP servers',
  'user:file_upload': 'Upload files on your behalf',
};

const STYLE = `
  * { box-sizing: border-box; }
  body { font: 16px/1.5 system-ui, sans-serif; background: #f5f4ef; color: #1f1e1d; margin: 0; overflow-wrap: anywhere; }
  main { max-width: 32rem; margin: 4rem auto; background: #fff; border-radius: 12px; padding: 2rem;
         box-shadow: 0 1px 4px rgba(0, 0, 0, 0.08); }
  h1 { font-size: 1.4rem; margin-top: 0; }
  code { font: 0.95em ui-monospace, monospace; background: #f0eee6; padding: 0.1em 0.3em; border-radius: 4px;
         overflow-wrap: anywhere; }
  #auth-code { display: block; padding: 0.8rem; font-size: 1.05rem; user-select: all; }
  ul { padding-left: 1.2rem; }
  .muted { color: #6b6a66; font-size: 0.9rem; }
  .actions { display: flex; gap: 0.75rem; justify-content: flex-end; margin-top: 1.5rem; }
  button { font: inherit; padding: 0.5rem 1.25rem; border-radius: 8px; border: 1px solid #c9c7be; background: #fff;
           cursor: pointer; }
  #approve { background: #c96442; border-color: #c96442; color: #fff; }
  .problem { color: #a4161a; }
  #emulator-banner { margin: 0; padding: 0.6rem 1rem; background: #1f1e1d; color: #fff; font-size: 0.9rem;
                     text-align: center; }
  #copy { margin-top: 0.75rem; }
  @media (max-width: 36rem) { main { margin: 0; border-radius: 0; padding: 1.25rem; box-shadow: none; } }
`;

/**
 * The code page's copy button: the code onto the clipboard, the button says so. Nothing else: no
 * request, no storage, no log. Where the clipboard is refused, the code is selected for Ctrl+C.
 */
const COPY_SCRIPT = `document.getElementById('copy').addEventListener('click', function () {
  var button = this;
  var code = document.getElementById('auth-code');
  navigator.clipboard.writeText(code.textContent).then(function () {
    button.textContent = 'Copied';
  }, function () {
    var range = document.createRange();
    range.selectNodeContents(code);
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    button.textContent = 'Selected: press Ctrl+C';
  });
});`;

/** The CSP source that allows `COPY_SCRIPT` and no other script. */
export const PAGE_SCRIPT_HASH = `'sha256-${createHash('sha256').update(COPY_SCRIPT).digest('base64')}'`;

/** The five characters HTML escapes, and their entities; used both ways. */
const ENTITIES: ReadonlyArray<readonly [string, string]> = [
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['"', '&quot;'],
  ["'", '&#39;'],
];
const TO_ENTITY = new Map(ENTITIES);
const FROM_ENTITY = new Map(ENTITIES.map(([char, entity]) => [entity, char]));

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => TO_ENTITY.get(char) ?? char);
}

function unescapeHtml(value: string): string {
  return value.replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => FROM_ENTITY.get(entity) ?? entity);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<p id="emulator-banner">Local emulator of Anthropic's sign-in pages on this machine: this is not Anthropic. The account and codes are fake.</p>
<main>
${body}
</main>
</body>
</html>
`;
}

/** The consent page: who asks, for what, and two buttons. */
export function renderAuthorizePage(input: AuthorizePageInput): string {
  const scopes =
    input.scopes.length === 0
      ? '<li>No scopes requested</li>'
      : input.scopes
          .map((scope) => {
            const description = SCOPE_DESCRIPTIONS[scope];
            return description === undefined
              ? `<li><code>${escapeHtml(scope)}</code></li>`
              : `<li>${escapeHtml(description)} <span class="muted">(<code>${escapeHtml(scope)}</code>)</span></li>`;
          })
          .join('\n');
  const destination = input.manual
    ? 'You will be shown a code to paste into your terminal.'
    : `You will be sent back to <code>${escapeHtml(input.redirectUri)}</code>.`;
  const hidden = input.fields
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  return layout(
    'Authorize',
    `<h1>Authorize access to your Anthropic account</h1>
<p>The application with client id <code id="client-id">${escapeHtml(input.clientId)}</code> is asking to access
the account <strong id="account-email">${escapeHtml(input.account.emailAddress)}</strong>
in <strong id="organization-name">${escapeHtml(input.organization.name)}</strong>.</p>
<p>It will be able to:</p>
<ul id="scopes">
${scopes}
</ul>
<p class="muted">${destination}</p>
<form method="post" action="${escapeHtml(input.action)}">
${hidden}
<div class="actions">
<button name="decision" value="approve" id="approve">Approve</button>
<button name="decision" value="deny" id="deny">Deny</button>
</div>
</form>`,
  );
}

/** A refused authorization request: shown instead of redirecting to an unvalidated URI. */
export function renderErrorPage(title: string, problems: readonly string[]): string {
  const items = problems.map((problem) => `<li class="problem">${escapeHtml(problem)}</li>`).join('\n');
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p>This authorization request cannot be completed:</p>
<ul id="problems">
${items}
</ul>
<p class="muted">Nothing was shared. Start the sign-in again from your application.</p>`,
  );
}

/** The manual redirect target: shows `CODE#STATE` for the user to paste. */
export function renderManualCodePage(code: string, state: string): string {
  return layout(
    'Authentication code',
    `<h1>Authentication code</h1>
<p>Paste this into your terminal:</p>
<code id="auth-code">${escapeHtml(`${code}#${state}`)}</code>
<button type="button" id="copy">Copy code</button>
<script>${COPY_SCRIPT}</script>
<p class="muted">The code works once and expires in a few minutes. You can close this page afterwards.</p>`,
  );
}

/** The manual redirect target after Deny (or any `error=` the authorize step sends). */
export function renderManualErrorPage(error: string, description: string): string {
  return layout(
    'Authorization failed',
    `<h1>Authorization failed</h1>
<p id="error"><code>${escapeHtml(error)}</code>${description === '' ? '' : ` ${escapeHtml(description)}`}</p>
<p class="muted">Nothing was shared. Go back to your terminal and start again.</p>`,
  );
}

/**
 * Reads the consent form back out of `renderAuthorizePage`'s HTML, as a browser would see it.
 * Returns null when the page holds no form (e.g. an error page).
 */
export function readAuthorizeForm(html: string): AuthorizeForm | null {
  const form = /<form method="post" action="([^"]*)">([\s\S]*?)<\/form>/.exec(html);
  if (form === null) return null;
  const fields: Array<[string, string]> = [];
  for (const input of (form[2] ?? '').matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields.push([unescapeHtml(input[1] ?? ''), unescapeHtml(input[2] ?? '')]);
  }
  return { action: unescapeHtml(form[1] ?? ''), fields };
}

/** The problems listed on `renderErrorPage`'s HTML, for error messages. */
export function readProblems(html: string): string[] {
  return [...html.matchAll(/<li class="problem">([^<]*)<\/li>/g)].map((match) => unescapeHtml(match[1] ?? ''));
}
