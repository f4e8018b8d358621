/**
 * `approve()` / `deny()`: a browser's visit to the consent page, over real HTTP: GET the page, read
 * its form, POST it with one button's value, and return where the redirect goes. Only this
 * emulator's own authorize page is ever fetched: a stray real authorize URL is refused unfetched.
 */

import { readAuthorizeForm, readProblems } from './pages.js';
import type { EmulatorUrls } from './state.js';
import { PATHS } from './wire.js';

export async function visit(pageUrl: string, decision: 'approve' | 'deny', urls: EmulatorUrls): Promise<string> {
  const page = new URL(pageUrl);
  if (page.origin !== urls.origin || (page.pathname !== PATHS.authorize && page.pathname !== PATHS.consoleAuthorize)) {
    throw new Error(`${decision}(): not this emulator's authorize URL: ${page.origin}${page.pathname}`);
  }
  const response = await fetch(page, { redirect: 'manual' });
  const html = await response.text();
  if (response.status === 302) {
    if (decision === 'approve') return new URL(response.headers.get('location') ?? '', page).href;
    throw new Error('deny(): autoApprove is on, so the authorize page approved without asking');
  }
  if (response.status !== 200) {
    throw new Error(`The authorize page refused the request (${response.status}): ${readProblems(html).join(' ')}`);
  }
  const form = readAuthorizeForm(html);
  if (form === null) throw new Error('The authorize page has no form');
  const submit = await fetch(new URL(form.action, page), {
    method: 'POST',
    body: new URLSearchParams([...form.fields, ['decision', decision]]),
    redirect: 'manual',
  });
  const submitted = await submit.text();
  const location = submit.headers.get('location');
  if (submit.status !== 302 || location === null) {
    throw new Error(`The authorize form was refused (${submit.status}): ${readProblems(submitted).join(' ')}`);
  }
  return new URL(location, page).href;
}
