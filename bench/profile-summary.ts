// node bench/profile-summary.ts FILE.cpuprofile [N]: top N self-time functions, then self time per file.
import { selfTimeByFile, topSelfTime } from './lib/cpu-profile.ts';

const [file, n] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile-summary.ts FILE.cpuprofile [N]');
  process.exit(2);
}
const top = Number(n ?? 15);
for (const t of await topSelfTime(file, top))
  console.log(`${String(t.percent).padStart(5)}%  ${t.selfMs} ms  ${t.fn}  ${t.where}`);
console.log('--- by file');
for (const t of await selfTimeByFile(file, top))
  console.log(`${String(t.percent).padStart(5)}%  ${t.selfMs} ms  ${t.where}`);
