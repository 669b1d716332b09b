import type { Command } from 'commander';
import { writeFilesAtomic, type OutputFile } from '../../io/atomic.js';
import { readLabelledMatrix } from '../../io/labelledMatrix.js';
import { readResultDict } from '../../io/resultDict.js';
import { assertSquare, DirectionError, matrixDirection, taxonomyOfAffinities, taxonomyOfMatrix } from '../../ops/taxonomy.js';
import { DISTANCE_METRICS, leafOrder, LINKAGES, type Dendrogram, type DistanceMetric, type Linkage } from '../../taxonomy/cluster.js';
import { formatTable } from '../table.js';
import { parseList, parseNumber, UsageError } from '../util.js';

export function register(program: Command): void {
  program
    .command('taxonomy')
    .summary('task tree: agglomerative clustering of tasks (JSON tree + Newick)')
    .description(
      [
        'Cluster tasks hierarchically, as the Taskonomy paper draws its task tree.',
        '',
        'Input, one of:',
        '  --affinities <file>     Taskonomy result dict (.json or .pkl): each task',
        '                          is described by its first-order affinities to',
        '                          every target (its transfer-out pattern) and',
        '                          tasks are compared with --distance. Pseudo-',
        '                          sources (self, random, pixels) are left out.',
        '  --similarity <file>     square labelled similarity matrix (JSON',
        '                          {"rows","cols","matrix"}, CSV, .npy + labels);',
        '                          distance = 1 − similarity (needs s ≤ 1).',
        '  --dissimilarity <file>  square labelled distance matrix, used as is.',
        '',
        'Output JSON: {"labels", "linkage", "distance", "merges" (scipy linkage',
        'rows {"a","b","distance","size"}: merge i creates cluster n + i), "tree",',
        '"newick", "leafOrder", "clusters" (with --k), "support" (with --support)}.',
        '',
        'Split support (docs/measures.md#inference): with --support <stem>.bootstrap.json',
        '(written by `taskmap similarity … --bootstrap B --out <stem>.json`), every',
        "draw's matrix is clustered the same way and each merge gets the share of",
        'draws whose tree contains exactly its cluster (printed, in the JSON, on',
        'the tree nodes, and as Newick inner-node labels).',
        '',
        'Ties: when several pairs are equally close, the pair with the lowest',
        'cluster ids merges first. scipy (nearest-neighbour chain; a minimum',
        'spanning tree for single) may take another order when distances tie:',
        'with single linkage only the order of merges at one height, and so a',
        '--k cut, can differ (the clusters below any height are the same); with',
        'complete, average and Ward linkage the tree itself can differ.',
      ].join('\n'),
    )
    .option('-a, --affinities <file>', 'Taskonomy affinities result dict')
    .option('--similarity <file>', 'square similarity matrix')
    .option('--dissimilarity <file>', 'square distance matrix')
    .option('--linkage <method>', LINKAGES.join(' | '), 'average')
    .option('--distance <metric>', `with --affinities: ${DISTANCE_METRICS.join(' | ')}`, 'correlation')
    .option('--tasks <a,b,...>', 'with --affinities: tasks to place in the tree (default: every non-pseudo source)')
    .option('--targets <a,b,...>', 'with --affinities: targets whose affinities describe the tasks (default: all)')
    .option('--k <n>', 'also cut the tree into n flat clusters')
    .option('--support <file>', 'with --similarity / --dissimilarity: the .bootstrap.json of that matrix; adds split support per merge')
    .option('--newick [file]', 'print the Newick string (or write it to file)')
    .option('-o, --out <file.json>', 'write the tree JSON here')
    .action(
      async (o: {
        affinities?: string;
        similarity?: string;
        dissimilarity?: string;
        linkage: string;
        distance: string;
        tasks?: string;
        targets?: string;
        k?: string;
        support?: string;
        newick?: string | boolean;
        out?: string;
      }) => {
        const inputs = [o.affinities, o.similarity, o.dissimilarity].filter(Boolean).length;
        if (inputs !== 1) throw new UsageError('give exactly one of --affinities, --similarity or --dissimilarity');
        if (o.support && o.affinities)
          throw new UsageError('--support applies to a --similarity or --dissimilarity matrix bootstrapped by `taskmap similarity --bootstrap`');
        if (!(LINKAGES as readonly string[]).includes(o.linkage)) throw new UsageError(`--linkage must be one of ${LINKAGES.join(', ')}`);
        if (!(DISTANCE_METRICS as readonly string[]).includes(o.distance)) {
          throw new UsageError(`--distance must be one of ${DISTANCE_METRICS.join(', ')}`);
        }
        const method = o.linkage as Linkage;
        let tree: Dendrogram;
        let out: Record<string, unknown>;
        const k = o.k === undefined ? undefined : parseNumber(o.k, '--k', { integer: true, min: 1 });
        if (o.affinities) {
          const r = taxonomyOfAffinities(await readResultDict(o.affinities), {
            name: o.affinities,
            linkage: method,
            distance: o.distance as DistanceMetric,
            tasks: parseList(o.tasks),
            targets: parseList(o.targets, '--targets'),
            k,
          });
          tree = r.dendrogram;
          const { k: _k, ...rest } = r.taxonomy;
          out = rest;
        } else {
          const file = (o.similarity ?? o.dissimilarity)!;
          const m = await readLabelledMatrix(file);
          assertSquare(m, file);
          // The matrix's own measure id (written by `taskmap similarity`) decides its direction (the measure
          // catalogue answers); a file without one, or with another tool's id, is taken as the flag says.
          let direction;
          try {
            direction = matrixDirection(m.measure, o.similarity ? 'similarity' : 'distance');
          } catch (e) {
            if (e instanceof DirectionError)
              throw new UsageError(`${file}: measure ${e.measure} is a distance (smaller = more similar); pass it with --dissimilarity`);
            throw e;
          }
          let draws: Float64Array | undefined;
          if (o.support) {
            // Loaded here, not at start-up: only a supported tree needs the bootstrap reader.
            const { readBootstrapFile, drawsFor } = await import('../../ops/inference.js');
            draws = drawsFor(m, await readBootstrapFile(o.support), { matrix: file, bootstrap: o.support });
          }
          const r = taxonomyOfMatrix(m, { linkage: method, direction, k, draws });
          tree = r.dendrogram;
          const { k: _k, ...rest } = r.taxonomy;
          out = rest;
        }
        const newick = out.newick as string;
        const order = leafOrder(tree);
        const n = tree.labels.length;
        const support = out.support as number[] | undefined;
        const rows = tree.merges.map((m, i) => {
          const name = (id: number) => (id < n ? tree.labels[id] : `#${id - n}`);
          return [`#${i}`, name(m.a), name(m.b), m.distance, String(m.size), ...(support ? [support[i].toFixed(3)] : [])];
        });
        process.stdout.write(`${formatTable(['merge', 'a', 'b', 'distance', 'size', ...(support ? ['support'] : [])], rows, 4)}\n`);
        if (support) process.stdout.write('support: share of bootstrap draws whose tree contains exactly that merge’s cluster\n');
        process.stdout.write(`leaf order: ${order.map((i) => tree.labels[i]).join(' ')}\n`);
        if (k !== undefined) {
          const clusters = out.clusters as Record<string, number>;
          for (let c = 0; c < k; c++) {
            process.stdout.write(`cluster ${c}: ${tree.labels.filter((l) => clusters[l] === c).join(' ')}\n`);
          }
        }
        if (o.newick === true) process.stdout.write(`${newick}\n`);
        const outputs: OutputFile[] = [];
        if (typeof o.newick === 'string') outputs.push({ path: o.newick, data: `${newick}\n` });
        if (o.out) outputs.push({ path: o.out, data: `${JSON.stringify(out, null, 2)}\n` });
        await writeFilesAtomic(outputs);
      },
    );
}
