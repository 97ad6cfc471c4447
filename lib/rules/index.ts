export { BlockBuster } from './blockbuster';
export type { BlockBusterFunction, BlockBusterMode, BlockBusterOptions, UnusedAllowance } from './blockbuster';
export type { CanBlockIn } from '../apis/allow';
