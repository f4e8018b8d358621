/**
 * Opening the user's browser. The `open` package is loaded only when this is called, so importing
 * the library costs nothing for programs that never log in interactively.
 */
import type { Env } from './types.js';

export async function openBrowser(url: string): Promise<void> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError('openBrowser only opens http(s) URLs.');
  }
  const { default: open } = await import('open');
  await open(parsed.toString());
}

/**
 * False where opening a browser cannot show anything to the user: a Linux or BSD session with no
 * graphical display (typically SSH), unless `BROWSER` names one. macOS, Windows and WSL (which
 * opens the Windows browser) always can. Callers then only show the URL.
 */
export function canOpenBrowser(env: Env = process.env, platform: NodeJS.Platform = process.platform): boolean {
  if (platform === 'darwin' || platform === 'win32') return true;
  if (env.BROWSER?.trim() || env.WSL_DISTRO_NAME?.trim()) return true;
  return Boolean(env.DISPLAY?.trim() || env.WAYLAND_DISPLAY?.trim());
}
