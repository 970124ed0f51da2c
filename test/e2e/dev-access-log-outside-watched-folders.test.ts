import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfigFile } from '../../src/config/file-config.ts';
import { FileSource } from '../../src/config/file-source.ts';
import { devDir, devDirB, jsonLines } from './env.ts';

// kubegate warns when its access log lies in a folder its configuration watcher watches (each
// write wakes the watcher). `kubegate dev` must lay its folder out as the docs tell users to: the
// configuration it runs with, read back from the folder and judged by the very check `serve` warns
// with, and the gateway's log of a whole start, free of that warning.
const WARNING = "the access log is in a folder the configuration's watcher watches";

for (const [cluster, dir] of [
  ['A', devDir],
  ['B', devDirB],
] as const) {
  test(`kubegate dev (cluster ${cluster}) keeps its access log out of the folders its configuration watcher watches`, async () => {
    const file = join(dir(), 'kubegate.yaml');
    const cfg = await loadConfigFile(file);
    const accessLog = cfg.accessLog.path;
    assert.ok(accessLog !== undefined, 'kubegate dev writes an access log');
    assert.ok(existsSync(accessLog), `${accessLog} exists`);

    const source = new FileSource(file, cfg, async () => {}, pino({ level: 'silent' }), { pollMs: 60_000 });
    source.start();
    try {
      assert.ok(source.folders.includes(dir()), 'the folder holding the configuration is watched');
      assert.equal(source.watchesFolderOf(accessLog), false, `${accessLog} is in a watched folder`);
    } finally {
      source.stop();
    }

    const warnings = jsonLines(accessLog).filter((l) => String(l.msg).startsWith(WARNING));
    assert.deepEqual(warnings, [], 'the gateway warned about its own layout');
  });
}
