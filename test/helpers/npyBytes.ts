/** Byte-level builders for hostile .npy / .npz inputs: headers without data, and deflate streams of zeros. */
import { constants, deflateRawSync } from 'node:zlib';

/** A .npy header (no data) for `shape` of `descr`, as np.save writes it (total length a multiple of 64). */
export function npyHeader(descr: string, shape: number[]): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const len = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10;
  const b = Buffer.alloc(10 + len, 0x20);
  b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  b.writeUInt16LE(len, 8);
  b.write(dict, 10, 'latin1');
  b[b.length - 1] = 0x0a;
  return b;
}

/**
 * A raw deflate stream of `head` followed by `zeros` zero bytes, built without allocating them: sync-flushed
 * (non-final, byte-aligned) blocks for the head and for 1 MiB of zeros, the latter repeated, then an empty final block.
 */
export function deflatedZeros(head: Uint8Array, zeros: number): Buffer {
  const MiB = 1024 * 1024;
  const sync = { finishFlush: constants.Z_SYNC_FLUSH };
  const parts = [deflateRawSync(head, sync)];
  const block = deflateRawSync(Buffer.alloc(MiB), sync);
  for (let i = 0; i < Math.floor(zeros / MiB); i++) parts.push(block);
  if (zeros % MiB) parts.push(deflateRawSync(Buffer.alloc(zeros % MiB), sync));
  parts.push(deflateRawSync(Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/** A one-member zip (method 8 deflate or 0 stored) declaring `size`; zip64 sizes when `size` needs them. */
export function oneMemberZip(member: string, data: Uint8Array, size: number, method = 8): Buffer {
  const name = Buffer.from(member);
  const zip64 = size >= 0xffffffff || data.length >= 0xffffffff;
  const extra = Buffer.alloc(zip64 ? 20 : 0);
  if (zip64) {
    extra.writeUInt16LE(1, 0);
    extra.writeUInt16LE(16, 2);
    extra.writeBigUInt64LE(BigInt(size), 4);
    extra.writeBigUInt64LE(BigInt(data.length), 12);
  }
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(zip64 ? 45 : 20, 4);
  local.writeUInt16LE(method, 8);
  local.writeUInt32LE(zip64 ? 0xffffffff : data.length, 18);
  local.writeUInt32LE(zip64 ? 0xffffffff : size, 22);
  local.writeUInt16LE(name.length, 26);
  local.writeUInt16LE(extra.length, 28);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(zip64 ? 45 : 20, 4);
  central.writeUInt16LE(zip64 ? 45 : 20, 6);
  central.writeUInt16LE(method, 10);
  central.writeUInt32LE(zip64 ? 0xffffffff : data.length, 20);
  central.writeUInt32LE(zip64 ? 0xffffffff : size, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt16LE(extra.length, 30);
  const cdOffset = local.length + name.length + extra.length + data.length;
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(central.length + name.length + extra.length, 12);
  eocd.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, name, extra, data, central, name, extra, eocd]);
}
