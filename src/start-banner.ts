import { AppConfig } from './config/configuration';
import { AppRole } from './config/env.validation';
import { BootstrapAdmin } from './modules/auth/admin-bootstrap.service';

/** The text printed once the service listens: where it is and how to send a first message. */
export function startBanner(config: AppConfig, url: string, admin: BootstrapAdmin | undefined, sandboxUrl?: string): string {
  const email = admin?.email ?? config.auth.adminEmail;
  const password = admin?.generatedPassword ?? (config.auth.adminPassword ? '$ADMIN_PASSWORD' : '<your password>');
  const twilio = config.twilio.useSandbox
    ? `Twilio sandbox (no account needed): ${sandboxUrl ?? `http://127.0.0.1:${config.twilio.sandbox.port}`}`
    : `Twilio account ${config.twilio.credentials?.accountSid}`;
  const lines = [
    '',
    config.app.role === AppRole.All ? '  WhatsApp delivery service is running' : '  WhatsApp delivery service is running: API (APP_ROLE=api; workers send)',
    '',
    `  API          ${url}/api/v1`,
    `  API docs     ${config.http.apiDocs ? `${url}/docs` : 'off (API_DOCS=false)'}`,
    `  Health       ${url}/api/v1/health`,
    `  Twilio       ${twilio}`,
    `  Senders      ${config.twilio.whatsappFrom.join(', ') || config.twilio.messagingServiceSid}`,
    ...(config.twilio.useSandbox ? [`  Phone        ${sandboxUrl ?? `http://127.0.0.1:${config.twilio.sandbox.port}`}/sandbox   (see messages arrive, reply as the user)`] : []),
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

/** A worker (APP_ROLE=worker) has no API to show: what it runs and where its probes are. */
export function workerBanner(config: AppConfig, url: string): string {
  const metrics = config.observability.metricsPort ? `http://localhost:${config.observability.metricsPort}/metrics` : 'set METRICS_PORT to serve /metrics';
  return [
    '',
    '  WhatsApp delivery service is running: worker (APP_ROLE=worker)',
    '',
    `  Sends        ${config.whatsapp.workers} at a time, ${config.whatsapp.mps} per second per sender across all workers`,
    `  Twilio       ${config.twilio.apiBaseUrl ?? `Twilio account ${config.twilio.credentials?.accountSid}`}`,
    `  Health       ${url}/api/v1/health, ${url}/api/v1/health/ready`,
    `  Metrics      ${metrics}`,
    '',
    '',
  ].join('\n');
}
