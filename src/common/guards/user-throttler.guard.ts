import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';

/**
 * Rate limits per API user rather than per address, so users behind one NAT do not share a
 * budget. Global guards run before the JWT guard, so the user is read from the token's `sub`
 * without verifying it: a forged token only earns itself a separate budget and a 401.
 */
@Injectable()
export class UserThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, any>): Promise<string> {
    const auth = req.headers?.authorization;
    if (typeof auth === 'string' && auth.startsWith('Bearer ')) {
      const payload = auth.slice(7).split('.')[1];
      try {
        const sub = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')).sub;
        if (typeof sub === 'string' && sub.length <= 64) return `user:${sub}`;
      } catch {
        // not a JWT: fall back to the address
      }
    }
    return `ip:${req.ip}`;
  }
}
