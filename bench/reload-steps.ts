// node bench/reload-steps.ts [RULES] [REPS]: times each step of a reload of the reload scenario's
// configuration (default 1000 rules) in isolation, in one warm process, without load. Each repetition
// reloads a new generation (new rule names and limits, as the scenario does) on top of the last.
// Profile it with `node --cpu-prof --cpu-prof-dir=bench/results bench/reload-steps.ts` and
// `node bench/profile-summary.ts bench/results/<file>.cpuprofile 25`.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { ClusterSet } from '../src/cluster/cluster-set.ts';
import { ClusterRuntime } from '../src/cluster/runtime.ts';
import {
  checkGatewayConfiguration,
  loadConfigFile,
  resolveGatewayConfiguration,
} from '../src/config/file-config.ts';
import { FileSource } from '../src/config/file-source.ts';
import type { GatewayConfig } from '../src/config/model.ts';
import { GatewayConfiguration } from '../src/config/schema/index.ts';
import { SchemaCheck } from '../src/config/schema-check.ts';
import { parseYAML } from '../src/config/yaml.ts';
import { compileRules } from '../src/routing/index.ts';
import { gatewayConfiguration } from './lib/gateway.ts';
import { manyRules } from './lib/many-rules.ts';
import { createBenchPKI } from './lib/pki.ts';
import { median } from './lib/stats.ts';

const RULES = Number(process.argv[2] ?? 1000);
const REPS = Number(process.argv[3] ?? 10);

const dir = await mkdtemp(join(tmpdir(), 'kubegate-reload-steps-'));
try {
  const pki = await createBenchPKI(join(dir, 'pki'));
  const options = {
    port: 0,
    adminPort: 0,
    // Nothing listens there: endpoints are built, never connected (health checks are not started).
    upstreams: ['https://127.0.0.1:1'],
    tls: { certFile: pki.server.cert, keyFile: pki.server.key, clientCAFile: pki.ca.cert },
    upstreamCA: pki.ca.cert,
    credentials: { certFile: pki.gatewayClient.cert, keyFile: pki.gatewayClient.key },
    dir,
  };
  const text = (gen: number) => stringify(gatewayConfiguration({ ...options, rules: manyRules(RULES, gen) }));
  const log = pino({ level: 'silent' });
  const file = join(dir, 'kubegate.yaml');

  const t = performance.now();
  const schema = new SchemaCheck(GatewayConfiguration);
  const schemaCompileMs = performance.now() - t;

  await writeFile(file, text(0));
  let previous = await loadConfigFile(file);
  let runtime = new ClusterRuntime(previous.clusters[0], log, () => undefined);
  const set = new ClusterSet(log);
  const source = new FileSource(file, previous, (cfg) => set.apply(cfg.clusters), log, { pollMs: 3_600_000 });

  // Wall time, and CPU time of the whole process (user + system, GC helper threads included), which
  // a shared machine disturbs less.
  const steps = new Map<string, { wall: number[]; cpu: number[] }>();
  const record = (name: string, wall: number, cpu: NodeJS.CpuUsage) => {
    const s = steps.get(name) ?? { wall: [], cpu: [] };
    s.wall.push(wall);
    s.cpu.push((cpu.user + cpu.system) / 1000);
    steps.set(name, s);
  };
  const time = <T>(name: string, fn: () => T): T => {
    const [start, cpu] = [performance.now(), process.cpuUsage()];
    const out = fn();
    record(name, performance.now() - start, process.cpuUsage(cpu));
    return out;
  };
  const timeAsync = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const [start, cpu] = [performance.now(), process.cpuUsage()];
    const out = await fn();
    record(name, performance.now() - start, process.cpuUsage(cpu));
    return out;
  };
  // Rendered up front, so that stringifying (slow, with `yaml`) leaves no garbage in the timed steps.
  const texts = Array.from({ length: REPS }, (_, i) => text(i + 1));

  for (let gen = 1; gen <= REPS; gen++) {
    const yaml = texts[gen - 1]!;
    const doc = time('YAML parse', () => parseYAML(yaml, file));
    time('TypeBox check (SchemaCheck.check)', () => schema.check(doc));
    time('checkGatewayConfiguration (schema + semantic)', () => checkGatewayConfiguration(doc));
    const cfg: GatewayConfig = await timeAsync('resolveGatewayConfiguration (check + model + files)', () =>
      resolveGatewayConfiguration(doc, dir),
    );
    const c = cfg.clusters[0];
    time('compileRules (from the previous table)', () =>
      compileRules(c.rules, c.defaultRule, runtime.routes),
    );
    runtime = time(
      'new ClusterRuntime (from previous)',
      () => new ClusterRuntime(c, log, () => undefined, runtime),
    );
    // What the watcher does after its debounce: read, parse, check, model, hash, ClusterSet.apply.
    await writeFile(`${file}.tmp`, yaml);
    await rename(`${file}.tmp`, file);
    await timeAsync('FileSource.check (read → applied)', () => source.check());
    await timeAsync('FileSource.check again, nothing changed (the poll)', () => source.check());
    previous = cfg;
  }
  source.stop();
  set.close();
  runtime.retire(null);

  console.log(
    `${RULES} rules, ${REPS} reloads; SchemaCheck construction (Compile) ${schemaCompileMs.toFixed(1)} ms`,
  );
  const cols = ['first ms', 'median ms', 'max ms', 'median CPU ms'];
  console.log('step'.padEnd(54), ...cols.map((c) => c.padStart(c.length + 1)));
  for (const [name, { wall, cpu }] of steps) {
    const cells = [wall[0]!, median(wall), Math.max(...wall), median(cpu)];
    console.log(name.padEnd(54), ...cells.map((v, i) => v.toFixed(1).padStart(cols[i]!.length + 1)));
  }
  console.log(`applied ${source.reloads} reloads, ${source.failures} failures`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
