import { Initial1764340000000 } from '../../migrations/1764340000000-Initial';

/** In order. The TypeORM CLI generates new files in migrations/; add each one here. */
export const MIGRATIONS = [Initial1764340000000];
