/**
 * The clipboard both ways through our server, checked on the X side with xclip:
 * - X → client: an X client (xclip) takes CLIPBOARD; an RFB client receives ServerCutText with
 *   the text (Latin-1, as classic RFB defines it);
 * - client → X: ClientCutText 'héllo' becomes both CLIPBOARD and PRIMARY, readable by xclip as
 *   UTF8_STRING;
 * - a view-only server ignores ClientCutText.
 */
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { suiteScope, sleep } from '../helpers/processes.js';
import { RfbClient } from '../helpers/rfb-client.js';
import { startServerRig, type ServerRig } from '../helpers/server-rig.js';
import { startXvfb, xclipRead, xclipWrite, type XvfbHandle } from '../helpers/x-env.js';

/** Reads server messages until a ServerCutText arrives (no update is ever requested here). */
async function nextCutText(c: RfbClient, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = Math.max(1, deadline - Date.now());
    const type = (await c.read(1, left))[0]!;
    if (type === 2) continue; // Bell
    if (type !== 3) throw new Error(`unexpected server message type ${type} (no update was requested)`);
    const h = await c.read(7, left);
    const len = h.readInt32BE(3);
    if (len < 0) throw new Error('extended clipboard message, but ExtendedClipboard was not asked for');
    return (await c.read(len, left)).toString('latin1');
  }
}

describe('clipboard through vnc-runner', () => {
  const scope = suiteScope();
  let x: XvfbHandle;
  let rig: ServerRig;
  let viewOnlyRig: ServerRig;
  const clients: RfbClient[] = [];

  beforeAll(async () => {
    x = await startXvfb({ width: 320, height: 240, scope });
    rig = await startServerRig({ display: x.display, scope });
    viewOnlyRig = await startServerRig({ display: x.display, viewOnly: true, scope });
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  async function connect(r: ServerRig): Promise<RfbClient> {
    const c = await new RfbClient({ port: r.port }).connect();
    clients.push(c);
    // Raw only: no ExtendedClipboard, so the server must use classic ServerCutText.
    c.setEncodings([0]);
    return c;
  }

  test('an X application copies text: the client receives ServerCutText', async () => {
    const c = await connect(rig);
    // Let the server apply SetEncodings before the selection changes.
    await sleep(100);
    const owner = await xclipWrite(x.display, 'clipboard', 'copied in X: héllo wörld', { scope });
    expect(await nextCutText(c, 10_000)).toBe('copied in X: héllo wörld');
    // A second copy is announced again.
    await xclipWrite(x.display, 'clipboard', 'second copy', { scope });
    expect(await nextCutText(c, 10_000)).toBe('second copy');
    await owner.close();
  });

  test('ClientCutText becomes CLIPBOARD and PRIMARY on the X side', async () => {
    const c = await connect(rig);
    c.cutText('héllo');
    await expect.poll(() => xclipRead(x.display, 'clipboard'), { timeout: 10_000 }).toBe('héllo');
    expect(await xclipRead(x.display, 'primary')).toBe('héllo');
    // Every Latin-1 character survives the trip (the classic message is Latin-1).
    const latin1 = Array.from({ length: 0x100 - 0xa0 }, (_, i) => String.fromCharCode(0xa0 + i)).join('');
    c.cutText(`latin-1: ${latin1}`);
    await expect.poll(() => xclipRead(x.display, 'clipboard'), { timeout: 10_000 }).toBe(`latin-1: ${latin1}`);
    expect(await xclipRead(x.display, 'primary')).toBe(`latin-1: ${latin1}`);
  });

  test('a view-only server ignores ClientCutText', async () => {
    await xclipWrite(x.display, 'clipboard', 'untouched', { scope });
    const c = await connect(viewOnlyRig);
    c.cutText('must not arrive');
    // Prove the message was processed (the session is alive and answers) before checking X.
    c.requestUpdate(false, 0, 0, 8, 8);
    await c.readUpdate({ timeoutMs: 10_000 });
    await sleep(300);
    expect(await xclipRead(x.display, 'clipboard')).toBe('untouched');
  });
});
