import type { Command } from 'commander';
import { loadRepresentation } from '../../features/featureSet.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { writeNpy } from '../../io/npy.js';
import { rdmMatrix, RDM_DISTANCES, type RdmDistance } from '../../measures/kernels.js';
import { centerColumns, toFloat64 } from '../../measures/normalize.js';
import { UsageError } from '../util.js';

export function register(program: Command): void {
  program
    .command('rdm')
    .summary('representational dissimilarity matrix of one feature file')
    .description('Write the N×N float64 RDM (zero diagonal) of an n_images × features .npy file.')
    .argument('<file>', '.npy feature file (n_images × ...)')
    .option('-d, --distance <name>', `image-pair dissimilarity: ${RDM_DISTANCES.join(', ')}`, 'correlation')
    .option('--center', 'centre each feature over the images first (as RSA does)')
    .requiredOption('-o, --out <file.npy>', 'output .npy (N×N float64)')
    .action(async (file: string, o: { distance: string; center?: boolean; out: string }) => {
      if (!(RDM_DISTANCES as readonly string[]).includes(o.distance)) {
        throw new UsageError(`--distance must be one of ${RDM_DISTANCES.join(', ')}, got "${o.distance}"`);
      }
      const rep = await loadRepresentation(file);
      const data = toFloat64(rep);
      if (o.center) centerColumns(data, rep.n, rep.p);
      const rdm = await rdmMatrix({ label: rep.label, n: rep.n, p: rep.p, data }, o.distance as RdmDistance);
      await writeFileAtomic(o.out, writeNpy({ dtype: 'float64', shape: [rep.n, rep.n], data: rdm.data }));
      process.stderr.write(`${o.distance} RDM of ${rep.label}: ${rep.n}×${rep.n} → ${o.out}\n`);
    });
}
