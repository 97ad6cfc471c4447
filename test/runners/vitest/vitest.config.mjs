// The one line of config the helper needs.
export default { test: { setupFiles: ['blockbuster/vitest'], include: ['*.test.mjs'] } };
