/**
 * Opening the user's browser. The `open` package is loaded only when this is called, so importing
 * the library costs nothing for programs that never log in interactively.
 */
import { ENV_BROWSER, ENV_DISPLAY, ENV_WAYLAND_DISPLAY, ENV_WSL_DISTRO_NAME } from './env-variables.js';
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
  if (env[ENV_BROWSER]?.trim() || env[ENV_WSL_DISTRO_NAME]?.trim()) return true;
  return Boolean(env[ENV_DISPLAY]?.trim() || env[ENV_WAYLAND_DISPLAY]?.trim());
}
