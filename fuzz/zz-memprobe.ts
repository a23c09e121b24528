import { runProtocolFuzz } from './protocol-fuzz.js';
import { getGc, settledMemory } from './memory.js';
const gc = getGc();
console.log('gc?', !!gc);
for (let k = 0; k < 4; k++) {
  const r = runProtocolFuzz({ inputs: 50000, seed: k + 1, gc });
  const m = settledMemory(gc);
  console.log(k, Math.round(r.inputsPerSecond), JSON.stringify(m), r.findings.length);
}
