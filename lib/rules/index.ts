export { BlockBuster, BlockBusterFunction, blockbusterCtx } from './blockbuster';
export type { BlockBusterOptions } from './blockbuster';
export type { CanBlockIn } from './allow';
export { DEFAULT_ALLOWANCES, defaultRules } from './table';
export type { Allowance, CanBlockPredicate, RuleSpec } from './table';
