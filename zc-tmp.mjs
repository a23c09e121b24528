import zlib from 'node:zlib'; import fs from 'node:fs';
const d=fs.readFileSync('/tmp/zrdump.bin'); const pieces=[]; for(let i=0;i<d.length && pieces.length<400;){const n=d.readUInt32LE(i);pieces.push(d.subarray(i+8,i+8+n));i+=8+n;}
for (const level of [1,2,3,6]) for (const windowBits of [15]) for (const memLevel of [8,9]) {
  const z=zlib.createDeflate({level,windowBits,memLevel,flush:zlib.constants.Z_SYNC_FLUSH}); let tot=0; z.on('data',c=>tot+=c.length);
  const c0=process.cpuUsage();
  for (const p of pieces) await new Promise(r=>z.write(p,r));
  const c=process.cpuUsage(c0);
  console.log('node level',level,'wb',windowBits,'mem',memLevel,tot,((c.user+c.system)/1e6).toFixed(2),'s');
}
