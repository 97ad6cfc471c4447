export { BlockBuster, BlockBusterFunction, blockbusterCtx } from './blockbuster';
export type { BlockBusterMode, BlockBusterOptions, UnusedAllowance } from './blockbuster';
export type { CanBlockIn } from './allow';
export { DEFAULT_ALLOWANCES, defaultRules } from './table';
export type { Allowance, CanBlockPredicate, RuleSpec } from './table';
