// `setupFiles: ['blockbuster/vitest']`: registers the hooks for each test file vitest collects.
import { afterAll, afterEach, beforeEach } from 'vitest';
import { installVitest } from '../dist/testing/vitest.js';

export const { allowBlocking, allowBlockingIn } = installVitest({ beforeEach, afterEach, afterAll });
