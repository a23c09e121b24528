import { defineConfig } from 'vitest/config';

// Integration tests start Xvfb, real VNC clients and chromium: on a 2-core machine they must
// not run all at once, so files run one by one unless a project says otherwise.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ['default'],
  },
});
