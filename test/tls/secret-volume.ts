// A directory laid out like a Kubernetes Secret volume, updated the way the kubelet updates one.
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Secret volume: tls.crt → ..data/tls.crt, ..data → ..<version>. */
export class SecretVolume {
  readonly dir = mkdtempSync(join(tmpdir(), 'ks-secret-'));
  #n = 0;
  constructor(cert: string, key: string) {
    this.#version(cert, key);
    symlinkSync(`..v${this.#n}`, join(this.dir, '..data'));
    symlinkSync('..data/tls.crt', join(this.dir, 'tls.crt'));
    symlinkSync('..data/tls.key', join(this.dir, 'tls.key'));
  }
  #version(cert: string, key: string): void {
    this.#n += 1;
    const v = join(this.dir, `..v${this.#n}`);
    mkdirSync(v);
    writeFileSync(join(v, 'tls.crt'), cert);
    writeFileSync(join(v, 'tls.key'), key);
  }
  /** What the kubelet does: write the new version, point a temporary link at it, rename over ..data. */
  update(cert: string, key: string): void {
    this.#version(cert, key);
    symlinkSync(`..v${this.#n}`, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
  }
  get files() { return { certFile: join(this.dir, 'tls.crt'), keyFile: join(this.dir, 'tls.key') }; }
}

