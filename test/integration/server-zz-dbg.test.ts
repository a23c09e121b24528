import { test } from 'vitest';
import { startServerRig } from '../helpers/server-rig.js';
import { suiteScope } from '../helpers/processes.js';
import { vncsnapshot } from '../helpers/vnc-clients.js';
import { fillRoot, startXvfb } from '../helpers/x-env.js';
const scope = suiteScope();
test('dbg', async () => {
  const x = await startXvfb({ width: 640, height: 480, scope });
  await fillRoot(x.display, 'desktop');
  const rig = await startServerRig({ display: x.display, scope });
  try { await vncsnapshot({ port: rig.port, encodings: 'raw', timeoutMs: 5000 }); } catch (e) { console.log(String(e)); }
  console.log(rig.logs().join('\n'));
}, 30000);
