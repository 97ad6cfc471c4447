// The helper's CommonJS form, which takes vitest's hooks from its globals.
export default { test: { globals: true, setupFiles: ['./require-setup.cjs'], include: ['*.test.mjs'] } };
