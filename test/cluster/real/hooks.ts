// Mocha root hooks for the cluster suites (test/cluster/real/mocharc.json).
import { startClusterEnv, stopClusterEnv } from './env.ts';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120_000);
    await startClusterEnv();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopClusterEnv();
  },
};
