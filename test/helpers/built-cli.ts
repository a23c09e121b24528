/**
 * Helpers for tests that run the built command (`dist/cli/main.js`) as a user would.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOk } from './processes.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI_MAIN = join(REPO_ROOT, 'dist/cli/main.js');
const SOURCE_DIRS = ['core', 'server', 'capture', 'input', 'gateway', 'cli'];

function newestSourceMtime(): number {
  let newest = 0;
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of SOURCE_DIRS) walk(join(REPO_ROOT, d));
  return newest;
}

/** Builds dist/ when it is missing or older than the sources (`npm test` builds first anyway). */
export async function ensureBuilt(): Promise<void> {
  if (!existsSync(CLI_MAIN) || statSync(CLI_MAIN).mtimeMs < newestSourceMtime()) {
    await runOk('npx', ['tsc', '-p', 'tsconfig.json'], { timeoutMs: 180_000, cwd: REPO_ROOT });
  }
}

/** The calling environment without any X display or VNC secrets of the calling shell. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['DISPLAY', 'XAUTHORITY', 'VNC_PASSWORD', 'WAYLAND_DISPLAY']) delete env[k];
  return { ...env, ...extra };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
