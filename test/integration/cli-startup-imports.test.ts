/**
 * What the built command loads at startup. A plain `--listen` server must not load the gateway
 * client (undici), the certificate generator (selfsigned and its X.509 libraries), the
 * WebSocket library or sharp: they made every start take twice as long and left megabytes of
 * startup garbage that V8 collected while the first clients were served. Each is still loaded
 * where it is used: ws with the web viewer, sharp at the first JPEG or PNG (the Tight and
 * TightPNG tests), undici in runner mode (the gateway tests).
 *
 * Every package the server resolves is logged by a module resolve hook (`module.register`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI_MAIN, cleanEnv, ensureBuilt } from '../helpers/built-cli.js';
import { missingCommands, suiteScope, withTimeout } from '../helpers/processes.js';

const LAZY = ['undici', 'selfsigned', '@peculiar/x509', 'ws', 'sharp'];

/** The packages (node_modules/NAME) among the URLs in the hook's log. */
function packagesIn(log: string): Set<string> {
  const out = new Set<string>();
  for (const line of log.split('\n')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (m) out.add(m[1]!);
  }
  return out;
}

describe.skipIf(missingCommands(['Xvfb']).length > 0)('vnc-runner startup imports (built)', () => {
  const scope = suiteScope();
  const dir = mkdtempSync(join(tmpdir(), 'startup-imports-'));
  const register = join(dir, 'register.mjs');

  beforeAll(async () => {
    await ensureBuilt();
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.IMPORT_LOG, r.url + '\\n');
  return r;
}
`,
    );
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  }, 200_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function packagesAtStartup(name: string, args: readonly string[]): Promise<Set<string>> {
    const log = join(dir, `${name}.log`);
    writeFileSync(log, '');
    const cli = scope.spawn('node', ['--import', pathToFileURL(register).href, CLI_MAIN, '--listen', '127.0.0.1:0', ...args], {
      env: cleanEnv({ IMPORT_LOG: log }),
    });
    await cli.waitForOutput(/VNC server on 127\.0\.0\.1:\d+/, 30_000);
    if (args.includes('--http-port')) await cli.waitForOutput(/web viewer at/, 10_000);
    cli.child.kill('SIGTERM');
    await withTimeout(cli.exited, 15_000, 'vnc-runner to exit');
    const seen = packagesIn(readFileSync(log, 'utf8'));
    // The hook saw the server's own dependencies, so an empty result cannot pass by accident.
    expect(seen.has('x11'), `hook log of ${name}: ${[...seen].join(', ')}`).toBe(true);
    return seen;
  }

  test('a plain --listen server loads none of the gateway, TLS, WebSocket or image libraries', async () => {
    const seen = await packagesAtStartup('plain', ['--no-http']);
    for (const p of LAZY) expect(seen.has(p), `${p} loaded at startup`).toBe(false);
  }, 60_000);

  test('with the web viewer, ws is loaded and the rest still is not', async () => {
    const seen = await packagesAtStartup('viewer', ['--http-port', '127.0.0.1:0']);
    expect(seen.has('ws')).toBe(true);
    for (const p of LAZY.filter((x) => x !== 'ws')) expect(seen.has(p), `${p} loaded at startup`).toBe(false);
  }, 60_000);
});
