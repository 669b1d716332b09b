// npm's install step for this package: `node-gyp rebuild`, pointed at the running Node's own headers when they are
// installed beside it (distribution packages put them in <prefix>/include/node, official tarballs too), so the
// build needs no header download and works offline. A failed build exits non-zero, and because taskmap lists this
// package under optionalDependencies npm then drops it and taskmap computes in JavaScript.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const args = ['rebuild'];
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (
  !process.env.npm_config_nodedir &&
  existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) &&
  existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))
) {
  args.push(`--nodedir=${prefix}`);
}
// npm names its bundled node-gyp in npm_config_node_gyp; otherwise use one on PATH.
const gyp = process.env.npm_config_node_gyp;
const run = gyp ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' }) : spawnSync('node-gyp', args, { stdio: 'inherit', shell: true });
if (run.status !== 0) {
  process.stderr.write(
    'taskmap-lapack: the optional native engine did not build (it needs a C++ compiler and the OpenBLAS/LAPACKE headers and ' +
      'libraries, e.g. `apt-get install libopenblas-dev liblapacke-dev`); taskmap will use its JavaScript eigensolver.\n',
  );
}
process.exit(run.status ?? 1);
