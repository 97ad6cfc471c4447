// The helper loaded as an ES module (jest's --experimental-vm-modules).
module.exports = { setupFilesAfterEnv: ['<rootDir>/esm-setup.mjs'], testEnvironment: 'node', testMatch: ['**/*.test.mjs'] };
