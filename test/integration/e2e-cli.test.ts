/**
 * The built command, end to end: `node dist/cli/main.js` as a user runs it.
 * - With no DISPLAY it starts a private Xvfb (cookie-protected) and the `--run` program on it,
 *   serves RFB and the web viewer on the ports it prints, vncsnapshot sees the private screen
 *   (equal to `xwd -root` of it), typing reaches the `--run` xterm; SIGTERM exits 0 within a
 *   few seconds and leaves neither Xvfb, nor the program, nor the cookie directory behind.
 * - With `--display` and VNC_PASSWORD on an existing X server: VNC auth, and after SIGTERM the
 *   keycodes remapped for é/€ are restored (xmodmap -pke equal to before).
 * - `--listen 0.0.0.0:PORT` without a password is refused with exit code 2.
 *
 * `npm test` builds first; when run alone, beforeAll rebuilds dist/ if any source is newer.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { CLI_MAIN, cleanEnv, ensureBuilt, isAlive } from '../helpers/built-cli.js';
import { expectImagesMatch } from '../helpers/image-compare.js';
import { runCommand, runOk, suiteScope, waitFor, withTimeout, type ManagedProcess } from '../helpers/processes.js';
import { RfbClient } from '../helpers/rfb-client.js';
import { vncsnapshot } from '../helpers/vnc-clients.js';
import { startXvfb, xEnv } from '../helpers/x-env.js';
import { parseXwd } from '../helpers/xwd.js';

const MAIN = CLI_MAIN;

/** Sends SIGTERM to the CLI process itself and returns its exit code and how long it took. */
async function terminate(cli: ManagedProcess, timeoutMs: number): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  process.kill(cli.pid, 'SIGTERM');
  const exit = await withTimeout(cli.exited, timeoutMs, 'vnc-runner to exit after SIGTERM');
  return { code: exit.code, ms: Date.now() - t0 };
}

describe('vnc-runner command line (built)', () => {
  const scope = suiteScope();
  let work: string;

  beforeAll(async () => {
    await ensureBuilt();
    work = mkdtempSync(join(tmpdir(), 'e2e-cli-'));
    scope.defer('rm work dir', () => rmSync(work, { recursive: true, force: true }));
  }, 200_000);

  test('private Xvfb with --run: serves, shows, types; SIGTERM cleans everything up', async () => {
    const typed = join(work, 'typed.txt');
    const cli = scope.spawn(
      'node',
      [
        MAIN,
        '--listen', '127.0.0.1:0',
        '--http-port', '127.0.0.1:0',
        '--width', '800',
        '--height', '600',
        '--log-level', 'debug',
        '--run', `xterm -geometry 80x24+10+10 -e sh -c 'stty raw -echo; exec cat > "$0"' ${typed}`,
      ],
      { env: cleanEnv() },
    );
    const vnc = await cli.waitForOutput(/VNC server on 127\.0\.0\.1:(\d+) \(display (:\d+), no password\)/, 30_000);
    const port = Number(vnc[1]);
    const display = vnc[2]!;
    const http = await cli.waitForOutput(/web viewer at (http:\/\/127\.0\.0\.1:\d+\/)/, 10_000);
    const xvfbPid = Number((await cli.waitForOutput(/private Xvfb started .*pid=(\d+)/, 5_000))[1]);
    const programPid = Number((await cli.waitForOutput(/started --run program .*pid=(\d+)/, 5_000))[1]);
    expect(isAlive(xvfbPid) && isAlive(programPid)).toBe(true);

    // The private X server wants its cookie: read the -auth path from its command line.
    const argv = readFileSync(`/proc/${xvfbPid}/cmdline`, 'latin1').split('\0');
    const authFile = argv[argv.indexOf('-auth') + 1]!;
    expect(existsSync(authFile)).toBe(true);
    const env = xEnv(display, { XAUTHORITY: authFile });
    // Without the cookie the display refuses connections.
    expect((await runCommand('xdpyinfo', ['-display', display], { timeoutMs: 5_000, env: cleanEnv({ XAUTHORITY: '/nonexistent' }) })).code).not.toBe(0);

    // The --run xterm is up and writes what is typed to the file.
    await waitFor(() => existsSync(typed), { timeoutMs: 15_000, what: 'the --run xterm to start cat' });
    const truth = parseXwd((await runOk('xwd', ['-root', '-silent', '-display', display], { timeoutMs: 20_000, env })).stdout).pixels;
    const snap = await vncsnapshot({ port, encodings: 'hextile zlib' });
    expect([snap.width, snap.height]).toEqual([800, 600]);
    await expectImagesMatch(truth, snap, { tolerance: 2, label: 'e2e vncsnapshot' });

    // The web viewer answers.
    const page = await fetch(http[1]!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('viewer.js');

    // No window manager: keyboard focus follows the pointer, so point at the xterm and type.
    const c = await new RfbClient({ port }).connect();
    c.pointer(200, 150, 0);
    for (const ch of 'e2e OK!') {
      c.key(ch.charCodeAt(0), true);
      c.key(ch.charCodeAt(0), false);
    }
    await waitFor(() => readFileSync(typed, 'utf8') === 'e2e OK!' || undefined, { timeoutMs: 10_000, what: 'typed text in the --run xterm' });
    c.close();

    const { code, ms } = await terminate(cli, 10_000);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(8_000);
    expect(isAlive(xvfbPid)).toBe(false);
    expect(isAlive(programPid)).toBe(false);
    expect(existsSync(dirname(authFile))).toBe(false);
    expect(existsSync(`/tmp/.X11-unix/X${display.slice(1)}`)).toBe(false);
    expect(cli.output()).toMatch(/shutting down/);
  });

  test('--display with VNC_PASSWORD: authentication, and the keymap is restored on SIGTERM', async () => {
    const x = await startXvfb({ width: 320, height: 240, scope });
    const keymap = async (): Promise<string> => (await runOk('xmodmap', ['-pke'], { timeoutMs: 5_000, env: xEnv(x.display) })).stdout.toString('utf8');
    const before = await keymap();
    const cli = scope.spawn('node', [MAIN, '--display', x.display, '--listen', '127.0.0.1:0', '--no-http'], {
      env: cleanEnv({ VNC_PASSWORD: 'cli!pass' }),
    });
    const port = Number((await cli.waitForOutput(/VNC server on 127\.0\.0\.1:(\d+) \(display :\d+, VNC password\)/, 30_000))[1]);

    await expect(new RfbClient({ port }).connect()).rejects.toThrow(/does not offer None/);
    const c = await new RfbClient({ port, password: 'cli!pass' }).connect();
    expect([c.width, c.height]).toEqual([320, 240]);
    // é and € are not in Xvfb's keymap: the server maps them onto spare keycodes.
    for (const keysym of [0xe9, 0x20ac]) {
      c.key(keysym, true);
      c.key(keysym, false);
    }
    await expect.poll(keymap, { timeout: 5_000 }).toMatch(/eacute[\s\S]*EuroSign|EuroSign[\s\S]*eacute/);
    c.close();

    const { code } = await terminate(cli, 10_000);
    expect(code).toBe(0);
    expect(await keymap()).toBe(before);
  });

  test('--listen 0.0.0.0 without a password is refused with exit code 2', async () => {
    const r = await runCommand('node', [MAIN, '--listen', '0.0.0.0:5999', '--no-http'], { timeoutMs: 15_000, env: cleanEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/reachable from other machines, but no password is set/);
  });
});
