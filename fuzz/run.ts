/**
 * `npm run fuzz` — the protocol fuzzer. Usage:
 *
 *   node dist/fuzz/run.js [--short] [--inputs N] [--server-inputs N] [--seed S] [--index I]
 *
 * - full run (default): 1,000,000 in-process inputs + 5,000 real-server inputs;
 * - `--short` (CI): 50,000 + 200;
 * - `--inputs` / `--server-inputs` override the counts (0 skips that part);
 * - `--seed` picks the run (default: time-based, printed so a failure can be replayed);
 * - `--index I` replays input I of that seed alone (both parts), to reproduce a finding.
 *
 * Prints throughput, outcome counts, the largest allocation, heap and peak RSS, and every
 * finding with its seed, index and input hex. Exits 1 if there is any finding.
 */
import { parseFuzzArgs } from './args.js';
import { formatMiB, getGc } from './memory.js';
import { runProtocolFuzz, type Finding } from './protocol-fuzz.js';
import { runServerFuzz } from './server-fuzz.js';

function printFindings(findings: readonly Finding[]): void {
  for (const f of findings) {
    console.log(`\n!! ${f.kind} (seed ${f.seed}, index ${f.index}, ${f.mode}) — replay: node dist/fuzz/run.js --seed ${f.seed} --index ${f.index}`);
    if (f.hex) console.log(`   input hex: ${f.hex}`);
    console.log(`   ${f.detail.split('\n').slice(0, 40).join('\n   ')}`);
  }
}

async function main(): Promise<number> {
  const o = parseFuzzArgs(process.argv.slice(2));
  const gc = getGc();
  console.log(`fuzz: seed ${o.seed}, ${o.inputs} in-process inputs, ${o.serverInputs} server inputs${o.index !== null ? `, replaying index ${o.index}` : ''}${gc ? '' : ' (no GC available: heap figures include garbage)'}`);
  let failed = false;
  if (o.inputs > 0) {
    const r = await runProtocolFuzz({
      inputs: o.inputs,
      seed: o.seed,
      firstIndex: o.index ?? 0,
      gc,
      onProgress: (n, f) => console.log(`  in-process: ${n} inputs, ${f} findings`),
    });
    console.log(`in-process: ${r.inputs} inputs in ${r.seconds.toFixed(1)} s (${Math.round(r.inputsPerSecond)} inputs/s), ${r.messagesDecoded} messages decoded`);
    console.log(`  outcomes: ${Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(`  largest Buffer allocation ${r.allocation.largest} bytes (limit ${r.allocationLimit}); heapUsed ${formatMiB(r.heapStart.heapUsed)} → ${formatMiB(r.heapEnd.heapUsed)}, external ${formatMiB(r.heapStart.external)} → ${formatMiB(r.heapEnd.external)}; peak RSS ${formatMiB(r.peakRss)}`);
    console.log(`  crashes: ${r.findings.filter((f) => f.kind === 'crash').length}, findings: ${r.findings.length}`);
    printFindings(r.findings);
    failed ||= r.findings.length > 0;
  }
  if (o.serverInputs > 0) {
    const r = await runServerFuzz({
      inputs: o.serverInputs,
      seed: o.seed,
      firstIndex: o.index ?? 0,
      onProgress: (n, f) => console.log(`  server: ${n} inputs, ${f} findings`),
    });
    console.log(`server: ${r.inputs} bad clients in ${r.seconds.toFixed(1)} s (${r.inputsPerSecond.toFixed(0)} inputs/s): ${r.closedWithReason} closed with the predicted reason, ${r.poisoned} parsed in step (poison byte), ${r.hungUp} hung up mid-message; ${r.goodFrames} good clients got an exact full frame`);
    console.log(`  RSS ${formatMiB(r.rssStart)} at start, peak ${formatMiB(r.peakRss)}; findings: ${r.findings.length}`);
    printFindings(r.findings);
    failed ||= r.findings.length > 0;
  }
  console.log(failed ? 'fuzz: FAILED' : 'fuzz: ok (0 crashes, 0 findings)');
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`fuzz: harness error: ${(err as Error).stack ?? String(err)}`);
    process.exit(2);
  },
);
