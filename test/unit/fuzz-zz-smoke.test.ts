import { it } from 'vitest';
import { runProtocolFuzz } from '../../fuzz/protocol-fuzz.js';
import { getGc } from '../../fuzz/memory.js';
it('smoke', () => {
  const r = runProtocolFuzz({ inputs: 300000, seed: 1, gc: getGc() });
  console.log(JSON.stringify({ ...r, findings: r.findings.map(f => ({...f, hex: f.hex.slice(0,200)})) }, null, 1).slice(0, 6000));
}, 600000);
