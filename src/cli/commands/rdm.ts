import type { Command } from 'commander';
import { writeFileAtomic } from '../../io/atomic.js';
import { npyPieces } from '../../io/npy.js';
import { rdmOfFile, RDM_DISTANCES, type RdmDistance } from '../../ops/similarity.js';
import { rdmMemory } from '../../ops/memory.js';
import { addDryRunOption, memoryGate } from '../memory.js';
import { formatMatrix } from '../table.js';
import { UsageError } from '../util.js';

/** Without --out the whole RDM is printed up to this many images; above it, the summary only. */
const PRINT_MAX = 12;

export function register(program: Command): void {
  const cmd = program
    .command('rdm')
    .summary('representational dissimilarity matrix of one feature file')
    .description(
      'The N×N float64 RDM (zero diagonal) of an n_images × features .npy file. With --out it is written as .npy; ' +
        `without, like \`similarity\`, a summary is printed (off-diagonal min / mean / max) and the matrix itself up to ${PRINT_MAX} images.`,
    )
    .argument('<file>', '.npy feature file (n_images × ...)')
    .option('-d, --distance <name>', `image-pair dissimilarity: ${RDM_DISTANCES.join(', ')}`, 'correlation')
    .option('--center', 'centre each feature over the images first (as RSA does)')
    .option('-o, --out <file.npy>', 'write the RDM here (.npy, N×N float64); default: print a summary');
  addDryRunOption(cmd).action(async (file: string, o: { distance: string; center?: boolean; out?: string; dryRun?: boolean }) => {
    if (!(RDM_DISTANCES as readonly string[]).includes(o.distance)) {
      throw new UsageError(`--distance must be one of ${RDM_DISTANCES.join(', ')}, got "${o.distance}"`);
    }
    const spec = { distance: o.distance as RdmDistance, center: Boolean(o.center) };
    if (await memoryGate(file, o.dryRun, undefined, (members) => rdmMemory(members[0], spec))) return;
    const r = await rdmOfFile(file, spec);
    if (o.out) {
      // Written from the matrix itself, not a serialised copy of it (which the memory estimate does not count).
      await writeFileAtomic(o.out, npyPieces({ dtype: 'float64', shape: [r.n, r.n], data: r.rdm.data }));
      process.stderr.write(`${r.distance} RDM of ${r.label}: ${r.n}×${r.n} → ${o.out}\n`);
      return;
    }
    const { min, mean, max } = r.offDiagonal;
    const images = Array.from({ length: r.n }, (_, i) => String(i));
    process.stdout.write(
      `${r.distance} RDM of ${r.label}${r.centered ? ' (centred)' : ''}: ${r.n}×${r.n}, zero diagonal; ` +
        `off-diagonal min ${min.toFixed(4)}, mean ${mean.toFixed(4)}, max ${max.toFixed(4)}\n` +
        (r.n <= PRINT_MAX
          ? `${formatMatrix({ rows: images, cols: images, matrix: r.rdm }, 4)}\n`
          : `(the matrix has more than ${PRINT_MAX} images: pass --out rdm.npy to write it)\n`),
    );
  });
}
