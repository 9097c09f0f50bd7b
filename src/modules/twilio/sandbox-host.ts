import { Logger } from '@nestjs/common';
import { TwilioSettings } from '../../config/configuration';
import { TwilioSandbox } from '../../../libs/twilio-sandbox/twilio-sandbox';

/**
 * Starts the in-process Twilio sandbox when no Twilio credentials are configured. The
 * configuration refuses production without credentials, so this never runs there.
 */
export async function startSandbox(settings: TwilioSettings): Promise<TwilioSandbox> {
  const logger = new Logger('TwilioSandbox');
  const sandbox = new TwilioSandbox({
    accountSid: settings.sandbox.accountSid,
    authToken: settings.sandbox.authToken,
    port: settings.sandbox.port,
    statusDelayMs: settings.sandbox.statusDelayMs,
    inboundWebhookUrl: settings.webhookUrl,
    logger: { log: (m) => logger.log(m), warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
  });
  await sandbox.start();
  return sandbox;
}
