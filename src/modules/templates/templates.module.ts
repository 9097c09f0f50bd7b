import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { RedisClients } from '../../common/redis/redis-connection';
import { AppConfig } from '../../config/configuration';
import { TwilioModule } from '../twilio/twilio.module';
import { SharedTemplateListing, TEMPLATES_REDIS } from './shared-template-listing';
import { TemplateCatalog } from './template-catalog.service';

/** The account's Content API templates, cached; every role checks template sends against it. */
@Module({
  imports: [TwilioModule],
  providers: [
    {
      provide: TEMPLATES_REDIS,
      inject: [ConfigService, RedisClients],
      useFactory: (config: ConfigService<AppConfig, true>, clients: RedisClients) =>
        // Fails fast while Redis is down (the listing is then this process's own) instead of queueing.
        clients.open(config.get('redis', { infer: true }), { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'template-listing' }),
    },
    SharedTemplateListing,
    TemplateCatalog,
  ],
  exports: [TemplateCatalog],
})
export class TemplatesModule {}
