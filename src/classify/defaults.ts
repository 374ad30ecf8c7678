// Where the shipped default rules live. tsc copies no YAML into dist/, so a build that did not copy it
// still finds the file in the source tree next door.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FILE = 'default-rules.yaml';

/** Absolute path of default-rules.yaml, whether running from src/ (node *.ts) or dist/ (built JS). */
export function defaultRulesPath(): string {
  const beside = fileURLToPath(new URL(`./${FILE}`, import.meta.url));
  if (existsSync(beside)) return beside;
  const inSource = fileURLToPath(new URL(`../../src/classify/${FILE}`, import.meta.url));
  return existsSync(inSource) ? inSource : beside;
}
