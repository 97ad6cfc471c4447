// The one line of config the helper needs.
module.exports = { setupFilesAfterEnv: ['blockbuster/jest'], testEnvironment: 'node', testMatch: ['**/*.test.js'] };
