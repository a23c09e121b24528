/**
 * Typing through our server into a real application: an xterm on the served display runs
 * `cat > FILE` in raw mode, so the file holds exactly the bytes the keyboard produced.
 * - the TS RFB client sends every printable ASCII character as a bare keysym (no Shift, as
 *   vncdotool does), then again with Shift held around the shifted ones (as TigerVNC does),
 *   then é ü € ß (Latin-1 keysyms and the legacy EuroSign keysym, none of which Xvfb's keymap
 *   has), then Return (0xff0d → CR in raw mode);
 * - TigerVNC's vncviewer, driven by XTEST on its own display, types ASCII into the same xterm.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { suiteScope } from '../helpers/processes.js';
import { RfbClient } from '../helpers/rfb-client.js';
import { startServerRig, type ServerRig } from '../helpers/server-rig.js';
import { startTigerViewer } from '../helpers/vnc-clients.js';
import { fillRoot, startXterm, startXvfb, type XvfbHandle } from '../helpers/x-env.js';

const W = 640;
const H = 480;
const XK_Shift_L = 0xffe1;
const XK_Return = 0xff0d;

/** All printable ASCII, 0x20..0x7e. */
const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
/** Characters a US keyboard produces with Shift. */
const US_SHIFTED = new Set('~!@#$%^&*()_+{}|:"<>?ABCDEFGHIJKLMNOPQRSTUVWXYZ');

describe('typing through vnc-runner into an xterm', () => {
  const scope = suiteScope();
  let x: XvfbHandle;
  let viewerX: XvfbHandle;
  let rig: ServerRig;
  let work: string;
  const clients: RfbClient[] = [];

  beforeAll(async () => {
    x = await startXvfb({ width: W, height: H, scope });
    viewerX = await startXvfb({ width: W + 200, height: H + 200, scope });
    await fillRoot(x.display, 'desktop');
    rig = await startServerRig({ display: x.display, scope });
    work = mkdtempSync(join(tmpdir(), 'server-typing-'));
    scope.defer('rm work dir', () => rmSync(work, { recursive: true, force: true }));
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  async function connect(): Promise<RfbClient> {
    const c = await new RfbClient({ port: rig.port }).connect();
    clients.push(c);
    return c;
  }

  function tap(c: RfbClient, keysym: number): void {
    c.key(keysym, true);
    c.key(keysym, false);
  }

  test('bare keysyms (vncdotool style), Shift-wrapped keysyms (TigerVNC style), Latin-1 and EuroSign, Return', async () => {
    const term = await startXterm(x.display, { file: join(work, 'rfb.txt'), scope });
    const c = await connect();

    // 1. Every printable ASCII character as its keysym alone: the server adds Shift itself.
    for (const ch of PRINTABLE) tap(c, ch.charCodeAt(0));
    tap(c, XK_Return);
    // 2. The same with Shift held around the shifted characters, as a real keyboard does.
    for (const ch of PRINTABLE) {
      const shifted = US_SHIFTED.has(ch);
      if (shifted) c.key(XK_Shift_L, true);
      tap(c, ch.charCodeAt(0));
      if (shifted) c.key(XK_Shift_L, false);
    }
    tap(c, XK_Return);
    // 3. Characters the Xvfb keymap lacks: remapped onto spare keycodes by the server.
    for (const keysym of [0xe9, 0x20, 0xfc, 0x20, 0x20ac, 0x20, 0xdf]) tap(c, keysym);
    tap(c, XK_Return);

    const expected = `${PRINTABLE}\r${PRINTABLE}\ré ü € ß\r`;
    const got = await term.waitForContent((s) => s.split('\r').length > 3, 20_000);
    expect(got).toBe(expected);
    // Byte for byte, as UTF-8.
    expect((await term.readFile()).equals(Buffer.from(expected, 'utf8'))).toBe(true);
    await term.close();
  });

  test('QEMU extended key events: the physical key when it yields the keysym, the keysym otherwise', async () => {
    const term = await startXterm(x.display, { file: join(work, 'qemu.txt'), scope });
    const c = await connect();
    c.setEncodings([0, -258]);
    const qemu = (keysym: number, qnum: number, down: boolean) => {
      const b = Buffer.alloc(12);
      b[0] = 255; // QEMU client message
      b[1] = 0; // extended key event
      b.writeUInt16BE(down ? 1 : 0, 2);
      b.writeUInt32BE(keysym, 4);
      b.writeUInt32BE(qnum, 8);
      c.socket.write(b);
    };
    const tapQ = (keysym: number, qnum: number) => {
      qemu(keysym, qnum, true);
      qemu(keysym, qnum, false);
    };
    tapQ(0x61, 0x1e); // 'a' on the A key
    tapQ(0x41, 0x1e); // 'A' on the A key without Shift held (as Playwright's keyboard.type sends)
    qemu(0xffe1, 0x2a, true); // Shift_L held on its own key
    tapQ(0x41, 0x1e); // 'A' with Shift held
    tapQ(0x21, 0x02); // '!' on the 1 key with Shift held
    qemu(0xffe1, 0x2a, false);
    tapQ(0x21, 0x02); // '!' on the 1 key without Shift: must still be '!'
    tapQ(0xe9, 0x10); // 'é' reported on the Q key (client layout differs): the keysym wins
    tapQ(0xff0d, 0x1c); // Return on the Enter key
    const got = await term.waitForContent((s) => s.endsWith('\r'), 20_000);
    expect(got).toBe('aAA!!é\r');
    await term.close();
  });

  test('TigerVNC vncviewer: ASCII typed into the viewer arrives in the xterm', async () => {
    const term = await startXterm(x.display, { file: join(work, 'tiger.txt'), scope });
    const viewer = await startTigerViewer({ port: rig.port, display: viewerX.display, encoding: 'Tight', scope });
    // Keep the server pointer over the xterm: it has the focus already (startXterm), the viewer
    // only needs the keyboard focus on its own display, which xdotool() gives it.
    const text = 'Hello, World! ~!@#$%^&*()_+{}|:"<>? [x] `q` 0123456789 -=\\;\',./';
    await viewer.xdotool(['type', '--delay', '15', text]);
    await viewer.xdotool(['key', 'Return']);
    const got = await term.waitForContent((s) => s.endsWith('\r'), 20_000);
    expect(got).toBe(`${text}\r`);
    await viewer.close();
    await term.close();
  });
});
