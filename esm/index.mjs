// ES module entry: the CommonJS build's named exports (one copy of the code for both).
export * from '../dist/index.js';
