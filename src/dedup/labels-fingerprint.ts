// Prometheus/Alertmanager label-set fingerprint (`model.LabelSet.Fingerprint()`): FNV-1a 64 over the
// label names in sorted order, each name and each value followed by the separator byte 0xff, rendered
// as 16 lowercase hex digits. Matching it exactly lets an alert that reaches us both directly from
// Prometheus and through Alertmanager carry the same identity, and lets people search by the
// fingerprint Alertmanager shows.
//
// The 64-bit state lives in four 16-bit limbs so every product stays far below 2^53 and needs no
// division for the carry. Measured on Node 24 with a typical 5-label alert: ~0.7 µs, against ~1.6 µs
// for two 32-bit halves and ~4.4 µs for BigInt; this runs once per ingested alert.

import { sortedKeys } from './sorted-keys.ts';

const SEPARATOR = 0xff;
// FNV-64 prime 0x100000001b3 = 2^40 + 0x1b3: multiplying by it is `h * 0x1b3 + (h << 40)`, and
// `<< 40` is "two limbs up, then 8 bits".
const PRIME_LOW = 0x1b3;

class Fnv64a {
  // Offset basis 0xcbf29ce484222325, least significant limb first.
  h0 = 0x2325;
  h1 = 0x8422;
  h2 = 0x9ce4;
  h3 = 0xcbf2;

  byte(b: number): void {
    const h0 = this.h0 ^ b;
    const t0 = h0 * PRIME_LOW;
    const t1 = this.h1 * PRIME_LOW + (t0 >>> 16);
    const t2 = this.h2 * PRIME_LOW + (h0 << 8) + (t1 >>> 16);
    this.h3 = (this.h3 * PRIME_LOW + (this.h1 << 8) + (t2 >>> 16)) & 0xffff;
    this.h2 = t2 & 0xffff;
    this.h1 = t1 & 0xffff;
    this.h0 = t0 & 0xffff;
  }

  /** Feeds the UTF-8 encoding of `s`; lone surrogates become U+FFFD, as Go's JSON decoder does. */
  string(s: string): void {
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        this.byte(c);
      } else if (c < 0x800) {
        this.byte(0xc0 | (c >> 6));
        this.byte(0x80 | (c & 0x3f));
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          this.byte(0xf0 | (cp >> 18));
          this.byte(0x80 | ((cp >> 12) & 0x3f));
          this.byte(0x80 | ((cp >> 6) & 0x3f));
          this.byte(0x80 | (cp & 0x3f));
          i++;
        } else {
          this.byte(0xef);
          this.byte(0xbf);
          this.byte(0xbd);
        }
      } else {
        this.byte(0xe0 | (c >> 12));
        this.byte(0x80 | ((c >> 6) & 0x3f));
        this.byte(0x80 | (c & 0x3f));
      }
    }
  }

  hex(): string {
    return hex4(this.h3) + hex4(this.h2) + hex4(this.h1) + hex4(this.h0);
  }
}

function hex4(limb: number): string {
  return limb.toString(16).padStart(4, '0');
}

const HAS_SURROGATE = /[\ud800-\udfff]/;

/** Go sorts label names by UTF-8 bytes, i.e. by code point; JS sorts by UTF-16 unit. They only differ
 *  around astral characters, so the slower comparison runs only when one is present. */
function sortedNames(labels: Readonly<Record<string, string>>): string[] {
  const names = sortedKeys(labels);
  for (const name of names) {
    if (HAS_SURROGATE.test(name)) return names.sort(compareCodePoints);
  }
  return names;
}

function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = (x[i].codePointAt(0) ?? 0) - (y[i].codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** `model.LabelSet.Fingerprint()` as 16 lowercase hex chars; the empty set gives `cbf29ce484222325`. */
export function labelsFingerprint(labels: Readonly<Record<string, string>>): string {
  const h = new Fnv64a();
  for (const name of sortedNames(labels)) {
    h.string(name);
    h.byte(SEPARATOR);
    h.string(labels[name]);
    h.byte(SEPARATOR);
  }
  return h.hex();
}
