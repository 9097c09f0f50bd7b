import { AppConfig } from './config/configuration';
import { BootstrapAdmin } from './modules/auth/admin-bootstrap.service';

/** The text printed once the service listens: where it is and how to send a first message. */
export function startBanner(config: AppConfig, url: string, admin: BootstrapAdmin | undefined): string {
  const email = admin?.email ?? config.auth.adminEmail;
  const password = admin?.generatedPassword ?? (config.auth.adminPassword ? '$ADMIN_PASSWORD' : '<your password>');
  const twilio = config.twilio.useSandbox
    ? `Twilio sandbox (no account needed): http://127.0.0.1:${config.twilio.sandbox.port || '<random port>'}`
    : `Twilio account ${config.twilio.credentials?.accountSid}`;
  const lines = [
    '',
    '  WhatsApp delivery service is running',
    '',
    `  API          ${url}/api/v1`,
    `  API docs     ${url}/docs`,
    `  Health       ${url}/api/v1/health`,
    `  Twilio       ${twilio}`,
    `  Senders      ${config.twilio.whatsappFrom.join(', ') || config.twilio.messagingServiceSid}`,
    '',
    `  Admin        ${email}`,
    admin?.generatedPassword ? `  Password     ${admin.generatedPassword}   (generated now, shown once: keep it)` : `  Password     ${password}`,
    '',
    '  Send a message:',
    '',
    `  TOKEN=$(curl -s ${url}/api/v1/auth/login -H 'Content-Type: application/json' \\`,
    `    -d '{"email":"${email}","password":"${password}"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).accessToken')`,
    `  curl -s ${url}/api/v1/whatsapp/send -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
    `    -d '{"to":"+14155550123","message":"Hello from WhatsApp"}'`,
    '',
    '',
  ];
  return lines.join('\n');
}
