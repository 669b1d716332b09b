import { describe, expect, it } from 'vitest';
import {
  candidateId,
  gainAndQuality,
  lossTables,
  parseLossCsv,
  parseTournamentsJson,
  tournamentOf,
  tournamentsFromLosses,
  tournamentsToJson,
} from '../../src/taskonomy/winrates.js';

// Target t, four images, candidates self, a, the pair {b, c} (written c__b on purpose) and pixels.
//            self   a     b__c  pixels
//   x1       1.0    2.0   1.5   3.0
//   x2       2.0    1.0   2.0   3.0
//   x3       1.0    1.0   0.5   0.2
//   x4       3.0    2.5   2.5   2.5
// Target u: self and a on two images (no pixels baseline).
const LOSSES = [
  'image,target,source,loss,note',
  ...[
    ['x1', 1.0, 2.0, 1.5, 3.0],
    ['x2', 2.0, 1.0, 2.0, 3.0],
    ['x3', 1.0, 1.0, 0.5, 0.2],
    ['x4', 3.0, 2.5, 2.5, 2.5],
  ].flatMap(([img, self, a, bc, pix]) => [`${img},t,self,${self},`, `${img},t,a,${a},"free, text"`, `${img},t,c__b,${bc},`, `${img},t,pixels,${pix},`]),
  'y1,u,self,0.1,',
  'y1,u,a,0.2,',
  'y2,u,self,0.3,',
  'y2,u,a,0.3,',
  '',
].join('\n');

describe('win rates from per-image losses', () => {
  const tournaments = tournamentsFromLosses(parseLossCsv(LOSSES));

  it('weights images like copies of them: counts (2, 0, 1, 3) give the tournament of x1, x1, x3, x4, x4, x4', () => {
    const records = parseLossCsv(LOSSES);
    const table = lossTables(records).find((t) => t.target === 't')!;
    expect(table.images).toEqual(['x1', 'x2', 'x3', 'x4']);
    const copies = [...['x1', 'x1', 'x3', 'x4', 'x4', 'x4'].entries()].flatMap(([k, img]) =>
      records.filter((r) => r.target === 't' && r.image === img).map((r) => ({ ...r, image: `${img}#${k}` })),
    );
    const expected = tournamentsFromLosses(copies)[0];
    const weighted = tournamentOf(table, [2, 0, 1, 3]);
    expect(weighted.sources).toEqual(expected.sources);
    weighted.wins.forEach((row, i) => row.forEach((w, j) => expect(w).toBeCloseTo(expected.wins[i][j], 14)));
    // self beats a on x1 (2 copies) and ties on x3 (1 copy), loses x4 (3 copies): (2 + ½) / 6.
    expect(weighted.wins[weighted.sources.indexOf('self')][weighted.sources.indexOf('a')]).toBeCloseTo(2.5 / 6, 14);
    expect(tournamentOf(table)).toEqual(tournaments[0]);
    expect(() => tournamentOf(table, [1, 1])).toThrow('target "t": 2 image weights for 4 images');
    expect(() => tournamentOf(table, [0, 0, 0, 0])).toThrow('target "t": the image weights sum to 0; no tournament');
    expect(() => tournamentOf(table, [1, -1, 1, 1])).toThrow('target "t": image weight -1 of image "x2"; weights must be finite and ≥ 0');
  });

  it('builds the hand-counted tournament (ties count half)', () => {
    expect(tournaments.map((t) => t.target)).toEqual(['t', 'u']);
    const t = tournaments[0];
    expect(t.sources).toEqual(['self', 'a', 'b__c', 'pixels']);
    expect(t.images).toBe(4);
    // Counted by hand from the table above: win 1, tie ½, over 4 images.
    expect(t.wins).toEqual([
      [0.5, 0.375, 0.375, 0.5],
      [0.625, 0.5, 0.375, 0.625],
      [0.625, 0.625, 0.5, 0.625],
      [0.5, 0.375, 0.375, 0.5],
    ]);
    // u: self wins y1, ties y2.
    expect(tournaments[1].wins).toEqual([
      [0.5, 0.75],
      [0.25, 0.5],
    ]);
  });

  it('gives Gain (vs pixels) and Quality (vs self) dicts keyed like the Taskonomy files', () => {
    const gq = gainAndQuality(tournaments);
    expect(gq.winsVsPixels).toEqual({ self__t: 0.5, a__t: 0.625, b__c__t: 0.625, pixels__t: 0.5 });
    expect(gq.winsVsTask).toEqual({ self__t: 0.5, a__t: 0.625, b__c__t: 0.625, pixels__t: 0.5, self__u: 0.5, a__u: 0.25 });
    expect(gq.missingPixels).toEqual(['u']);
    expect(gq.missingSelf).toEqual([]);
  });

  it('round-trips through the tournaments JSON', () => {
    const back = parseTournamentsJson(JSON.parse(JSON.stringify(tournamentsToJson(tournaments))));
    expect(back).toEqual(tournaments);
  });

  it('canonicalises source sets', () => {
    expect(candidateId('c__a__b')).toBe('a__b__c');
    expect(() => candidateId('a__')).toThrow(/"a__" is not a source/);
  });

  it('rejects bad loss files with the line or item named', () => {
    expect(() => parseLossCsv('target,source,loss\nt,a,1')).toThrow(/no "image" column/);
    expect(() => parseLossCsv('target,source,image,loss\nt,a,x1,abc')).toThrow(/:2: loss "abc" is not a finite number/);
    expect(() => parseLossCsv('target,source,image,loss\nt,a__,x1,1')).toThrow(/:2: "a__" is not a source/);
    expect(() => parseLossCsv('target,source,image,loss\nt__v,a,x1,1')).toThrow(/target "t__v" contains "__"/);
    expect(() => parseLossCsv('')).toThrow(/empty file/);
    const missing = parseLossCsv('target,source,image,loss\nt,a,x1,1\nt,b,x1,2\nt,a,x2,1');
    expect(() => tournamentsFromLosses(missing)).toThrow(/target "t": source "b" has no loss for image "x2"/);
    const dup = parseLossCsv('target,source,image,loss\nt,a__b,x1,1\nt,b__a,x1,2');
    expect(() => tournamentsFromLosses(dup)).toThrow(/source "a__b": image "x1" has two losses/);
  });

  it('rejects malformed tournament JSON naming the target and entry', () => {
    expect(() => parseTournamentsJson({ t: { sources: ['a', 'b'], wins: [[0.5, 0.2]] } })).toThrow(/target "t": "wins" must be a 2×2/);
    expect(() =>
      parseTournamentsJson({
        t: {
          sources: ['a', 'b'],
          wins: [
            [0.5, 1.2],
            [0, 0.5],
          ],
        },
      }),
    ).toThrow(/wins\["a"\]\["b"\] = 1.2 is not a fraction/);
    expect(() =>
      parseTournamentsJson({
        t: {
          sources: ['a__b', 'b__a'],
          wins: [
            [0.5, 0.5],
            [0.5, 0.5],
          ],
        },
      }),
    ).toThrow(/source "a__b" is listed twice/);
    expect(() => parseTournamentsJson([])).toThrow(/expected an object/);
  });
});
