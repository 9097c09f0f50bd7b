import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfig } from '../../config/configuration';
import { UserRole } from './entities/user.entity';
import { UserAlreadyExistsError, UsersService } from './users.service';

export interface BootstrapAdmin {
  email: string;
  /** Only when generated in this start; printed once in the banner. */
  generatedPassword?: string;
}

/** Creates the first admin on a database with no users. */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrapService.name);
  private created?: BootstrapAdmin;

  constructor(
    private readonly users: UsersService,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  /** The admin created by this start, if any. */
  get createdAdmin(): BootstrapAdmin | undefined {
    return this.created;
  }

  async onApplicationBootstrap(): Promise<void> {
    if ((await this.users.count()) > 0) return;
    const { adminEmail, adminPassword } = this.config.get('auth', { infer: true });
    const { isProduction } = this.config.get('app', { infer: true });
    if (!adminPassword && isProduction) {
      this.logger.error('No users exist and ADMIN_PASSWORD is not set: create one with `npm run user:create -- --email ... --role admin`');
      return;
    }
    try {
      const { user, generatedPassword } = await this.users.create(adminEmail, UserRole.Admin, adminPassword);
      this.created = { email: user.email, generatedPassword };
      this.logger.log(`Created the first admin user ${user.email}`);
    } catch (err) {
      // Another instance created it at the same moment.
      if (!(err instanceof UserAlreadyExistsError)) throw err;
    }
  }
}
