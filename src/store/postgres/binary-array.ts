// A batch's write parameters in PostgreSQL's binary array format (what array_recv reads), sent as
// Buffers, which pg binds as binary parameters (issue #12). Their text form (record.ts arrayText)
// quoted and escaped every string and joined the batch's texts into strings of hundreds of KB, which
// pg then encoded into its message; and the backend parsed them back character by character. Here
// each value is written once, length-prefixed, into a Buffer that pg copies into its message as it is.
//
// Layout: ndim (1; 0 for an empty array), a has-nulls flag, the element type's OID, the dimension's
// length and lower bound (1), then per element its byte length (-1 for NULL) and its bytes: UTF-8 for
// text (the pool's client_encoding, session.ts), big-endian two's complement for bigint and int.

/** The element type of a parameter: text, bigint (int8) or int (int4). Must match the statement's cast. */
export type ElementKind = 't' | 'b' | 'i';

const OID: Record<ElementKind, number> = { t: 25, b: 20, i: 23 };
const WIDTH: Record<'b' | 'i', number> = { b: 8, i: 4 };
const HEADER = 20;
const TWO_32 = 2 ** 32;

function integer(v: unknown, kind: 'b' | 'i'): number {
  const n = typeof v === 'number' ? v : NaN; // no coercion: '' or true is not a number here
  const ok = kind === 'b' ? Number.isSafeInteger(n) : Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31;
  // A caller's bug, not sender data (times and counts are clamped before): fail the batch loudly,
  // as PostgreSQL did when such a value reached it as text.
  if (!ok) throw new TypeError(`binary array: ${String(v)} is not ${kind === 'b' ? 'a bigint' : 'an int'}`);
  return n;
}

/** One parameter: `values` as an array of `kind` (null and undefined are NULL). */
export function binaryArray(values: readonly unknown[], kind: ElementKind): Buffer {
  if (!Object.hasOwn(OID, kind)) throw new TypeError(`binary array: unknown element kind ${String(kind)}`);
  const n = values.length;
  if (n === 0) {
    const empty = Buffer.alloc(12);
    empty.writeInt32BE(OID[kind], 8);
    return empty;
  }
  let nulls = 0;
  let size = HEADER;
  const texts = kind === 't' ? new Array<string>(n) : null;
  const lengths = kind === 't' ? new Int32Array(n) : null;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      nulls++;
      size += 4;
    } else if (texts && lengths) {
      const s = typeof v === 'string' ? v : String(v);
      texts[i] = s;
      lengths[i] = Buffer.byteLength(s, 'utf8');
      size += 4 + lengths[i];
    } else {
      size += 4 + WIDTH[kind as 'b' | 'i'];
    }
  }
  const buf = Buffer.allocUnsafe(size);
  buf.writeInt32BE(1, 0);
  buf.writeInt32BE(nulls > 0 ? 1 : 0, 4);
  buf.writeInt32BE(OID[kind], 8);
  buf.writeInt32BE(n, 12);
  buf.writeInt32BE(1, 16);
  let at = HEADER;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      at = buf.writeInt32BE(-1, at);
    } else if (texts && lengths) {
      at = buf.writeInt32BE(lengths[i], at);
      const wrote = buf.write(texts[i], at, lengths[i], 'utf8');
      // The prefix must tell the truth, or the rest of the array (and unzeroed memory) would be misread.
      if (wrote !== lengths[i]) throw new Error(`binary array: wrote ${wrote} bytes of a ${lengths[i]}-byte string`);
      at += wrote;
    } else if (kind === 'b') {
      const x = integer(v, 'b');
      const high = Math.floor(x / TWO_32);
      at = buf.writeInt32BE(8, at);
      at = buf.writeInt32BE(high, at);
      at = buf.writeUInt32BE(x - high * TWO_32, at);
    } else {
      at = buf.writeInt32BE(4, at);
      at = buf.writeInt32BE(integer(v, 'i'), at);
    }
  }
  return buf;
}

/**
 * A group of parameters: `columns` (parallel arrays, as record.ts columns() builds them; none when
 * there are no rows) as binary arrays, `kinds` naming each one's element type in order ('ttb': two
 * text columns, then a bigint one). A group whose column count does not match its kinds is a bug.
 */
export function binaryColumns(columns: readonly unknown[][], kinds: string): Buffer[] {
  if (columns.length !== 0 && columns.length !== kinds.length) throw new Error(`binary array: ${columns.length} columns for ${kinds.length} element kinds`);
  return Array.from(kinds, (k, i) => binaryArray(columns[i] ?? [], k as ElementKind));
}
