import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { TwilioMessagingClient } from './twilio-messaging.client';
import { TwilioEndpointKind, TwilioProbeResult } from './twilio.types';

export const TWILIO_PROBE_TIMEOUT_MS = 1500;
/** Twilio is probed at most this often per process (readiness probes come every few seconds). */
export const TWILIO_PROBE_TTL_MS = 30_000;

type TwilioHealthDetail = {
  /** The base URL of the in-process sandbox, or of the API (Twilio's or TWILIO_API_BASE_URL). */
  sandbox?: string;
  api?: string;
  httpStatus?: number;
  twilioCode?: number;
  message?: string;
  responseTimeMs: number;
};

/** Readiness: Twilio, or the endpoint standing in for it, answers an authenticated request. */
@Injectable()
export class TwilioHealthIndicator {
  private last?: { at: number; probe: Promise<TwilioProbeResult> };

  constructor(
    private readonly twilio: TwilioMessagingClient,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy(key = 'twilio') {
    const indicator = this.health.check(key);
    const now = Date.now();
    // One request per TTL, shared by the readiness checks that arrive meanwhile.
    if (!this.last || now - this.last.at >= TWILIO_PROBE_TTL_MS) this.last = { at: now, probe: this.twilio.probe(TWILIO_PROBE_TIMEOUT_MS) };
    const probe = await this.last.probe;
    const { kind, baseUrl } = probe.endpoint;
    const detail: TwilioHealthDetail = {
      ...(kind === TwilioEndpointKind.Sandbox ? { sandbox: baseUrl } : { api: baseUrl }),
      ...(probe.httpStatus !== null ? { httpStatus: probe.httpStatus } : {}),
      ...(probe.twilioCode !== null ? { twilioCode: probe.twilioCode } : {}),
      ...(probe.message !== null ? { message: probe.message } : {}),
      responseTimeMs: probe.responseTimeMs,
    };
    return probe.ok ? indicator.up(detail) : indicator.down(detail);
  }
}
