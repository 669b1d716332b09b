import type { Command } from 'commander';
import {
  defaultCuratedProbeDir,
  defaultProbeDir,
  expectedProbeCount,
  fetchProbeImages,
  probePackages,
  readProbeSet,
  type CuratedProbeManifest,
} from '../../images/probe.js';

export function register(program: Command): void {
  const probe = program
    .command('probe')
    .summary('the default probe images (real photographs from Debian packages)')
    .description(
      [
        `The default probe set: ${expectedProbeCount()} photographs from the Debian packages`,
        `${probePackages().join(', ')} (downloaded with \`apt-get download\`,`,
        'unpacked without installing, downscaled to ≤ 640 px). `taskmap demo` fetches it',
        `automatically when it is missing. Location: $TASKMAP_CACHE/probe (default ${defaultProbeDir()}).`,
        'The demo runs on the curated set made from it ($TASKMAP_CACHE/probe-curated): without the',
        'stereo-calibration frames, second stereo views and near-duplicate photographs.',
      ].join('\n'),
    );
  probe
    .command('fetch')
    .description('download and prepare the probe set (needs apt; runs `apt-get update` first when root and needed)')
    .option('--dir <dir>', 'where to put it', defaultProbeDir())
    .option('--debs <dir>', 'use these already-downloaded .deb files instead of apt-get download')
    .option('--force', 'rebuild even if a complete set is there')
    .action(async (o: { dir: string; debs?: string; force?: boolean }) => {
      const existing = o.force ? undefined : await readProbeSet(o.dir);
      if (existing) {
        process.stderr.write(`probe set already complete: ${existing.images.length} images in ${o.dir} (use --force to rebuild)\n`);
        return;
      }
      await fetchProbeImages({ dir: o.dir, debs: o.debs, log: (m) => process.stderr.write(`${m}\n`) });
    });
  probe
    .command('info')
    .description('where the probe set is, whether it is complete, and where its images come from')
    .option('--dir <dir>', 'probe folder', defaultProbeDir())
    .option('--curated-dir <dir>', "the demo's curated set", defaultCuratedProbeDir())
    .action(async (o: { dir: string; curatedDir: string }) => {
      const set = await readProbeSet(o.dir);
      if (!set) {
        process.stdout.write(`no complete probe set in ${o.dir}; run \`taskmap probe fetch\`\n`);
        process.exitCode = 1;
        return;
      }
      const lines = [`${set.images.length} images in ${o.dir} (created ${set.created}, longer side ≤ ${set.maxSide} px)`];
      for (const p of set.packages) {
        const n = set.images.filter((i) => i.package === p.name).length;
        lines.push(`  ${p.name} ${p.version}: ${n} images${p.copyright ? ` (licence: ${p.copyright})` : ''}`);
      }
      const curated = (await readProbeSet(o.curatedDir)) as CuratedProbeManifest | undefined;
      if (curated?.curated) {
        const why = new Map<string, number>();
        for (const e of curated.curated.excluded) {
          const kind = e.reason.replace(/ \(.*$/, '').replace(/^near-duplicate of .*$/, 'near-duplicate');
          why.set(kind, (why.get(kind) ?? 0) + 1);
        }
        lines.push(
          `curated set (the demo's): ${curated.images.length} of ${curated.curated.total} in ${o.curatedDir}; left out: ${[...why].map(([k, n]) => `${n} × ${k}`).join(', ')}`,
        );
      } else lines.push(`no curated set in ${o.curatedDir} yet (\`taskmap demo\` makes it)`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
