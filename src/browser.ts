/**
 * Opening the user's browser. The `open` package is loaded only when this is called, so importing
 * the library costs nothing for programs that never log in interactively.
 */
export async function openBrowser(url: string): Promise<void> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError('openBrowser only opens http(s) URLs.');
  }
  const { default: open } = await import('open');
  await open(parsed.toString());
}
