/** A score memo that records which keys were computed (tests of the work shared between the scores of a candidate). */
import { ScoreMemo } from '../../src/transferability/index.js';

export class RecordingMemo extends ScoreMemo {
  readonly computed: string[] = [];
  override get<T>(key: string, compute: () => T | Promise<T>): Promise<T> {
    return super.get(key, () => {
      this.computed.push(key);
      return compute();
    });
  }
}
