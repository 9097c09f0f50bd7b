import { Inject, Module, OnApplicationShutdown, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import twilio from 'twilio';
import { RedisClients } from '../../common/redis/redis-connection';
import { AppConfig } from '../../config/configuration';
import { TwilioSandbox } from '../../../libs/twilio-sandbox/twilio-sandbox';
import { BaseUrlRequestClient } from './base-url-request-client';
import { startSandbox } from './sandbox-host';
import { TWILIO_API_ORIGIN, TWILIO_CLIENT, TWILIO_ENDPOINT } from './twilio.constants';
import { TwilioHealthIndicator } from './twilio.health';
import { TwilioContentClient } from './twilio-content.client';
import { TwilioMessagingClient } from './twilio-messaging.client';
import { TwilioEndpoint, TwilioEndpointKind } from './twilio.types';
import { requestClientOptions } from './request-client-options';
import { RetryAfterRequestClient } from './retry-after-request-client';
import { RATE_LIMIT_REDIS, SenderRateLimiter } from './sender-rate-limiter';

export const TWILIO_SANDBOX = Symbol('TWILIO_SANDBOX');

@Module({
  imports: [TerminusModule],
  providers: [
    {
      provide: TWILIO_SANDBOX,
      inject: [ConfigService],
      useFactory: async (config: ConfigService<AppConfig, true>): Promise<TwilioSandbox | null> => {
        const settings = config.get('twilio', { infer: true });
        return settings.useSandbox ? startSandbox(settings) : null;
      },
    },
    {
      provide: TWILIO_ENDPOINT,
      inject: [ConfigService, TWILIO_SANDBOX],
      useFactory: (config: ConfigService<AppConfig, true>, sandbox: TwilioSandbox | null): TwilioEndpoint => {
        if (sandbox) return { kind: TwilioEndpointKind.Sandbox, baseUrl: sandbox.baseUrl };
        const { apiBaseUrl } = config.get('twilio', { infer: true });
        return apiBaseUrl ? { kind: TwilioEndpointKind.Custom, baseUrl: apiBaseUrl } : { kind: TwilioEndpointKind.Twilio, baseUrl: TWILIO_API_ORIGIN };
      },
    },
    {
      provide: TWILIO_CLIENT,
      inject: [ConfigService, TWILIO_ENDPOINT],
      useFactory: (config: ConfigService<AppConfig, true>, endpoint: TwilioEndpoint) => {
        const settings = config.get('twilio', { infer: true });
        const clientOptions = requestClientOptions(settings.timeoutMs, config.get('whatsapp', { infer: true }).workers);
        const httpClient =
          endpoint.kind === TwilioEndpointKind.Twilio ? new RetryAfterRequestClient(clientOptions) : new BaseUrlRequestClient(endpoint.baseUrl, clientOptions);
        if (endpoint.kind === TwilioEndpointKind.Sandbox) {
          return twilio(settings.sandbox.accountSid, settings.sandbox.authToken, { httpClient });
        }
        const creds = settings.credentials!;
        return creds.kind === 'api-key'
          ? twilio(creds.apiKey, creds.apiSecret, { accountSid: creds.accountSid, httpClient })
          : twilio(creds.accountSid, creds.authToken, { httpClient });
      },
    },
    {
      provide: RATE_LIMIT_REDIS,
      inject: [ConfigService, RedisClients],
      useFactory: (config: ConfigService<AppConfig, true>, clients: RedisClients) =>
        // Fails fast while Redis is down (the limiter then lets sends through) instead of queueing.
        clients.open(config.get('redis', { infer: true }), { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'sender-rate-limiter' }),
    },
    SenderRateLimiter,
    TwilioMessagingClient,
    TwilioContentClient,
    TwilioHealthIndicator,
  ],
  exports: [TwilioMessagingClient, TwilioContentClient, TwilioHealthIndicator, TWILIO_SANDBOX, SenderRateLimiter],
})
export class TwilioModule implements OnApplicationShutdown {
  constructor(@Optional() @Inject(TWILIO_SANDBOX) private readonly sandbox: TwilioSandbox | null) {}

  async onApplicationShutdown(): Promise<void> {
    await this.sandbox?.stop();
  }
}
