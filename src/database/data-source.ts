import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { configurationFromProcess, loadDotEnv } from '../config/configuration';
import { typeOrmOptions } from './typeorm-options';

// Used by the TypeORM CLI (migration:generate / run / revert).
loadDotEnv();
export default new DataSource(typeOrmOptions(configurationFromProcess().database));
