import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags, ApiTooManyRequestsResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import { ErrorBodyDto } from '../../common/http/error-body.dto';
import { AuthService } from './auth.service';
import { LoginDto } from './dto/login.dto';
import { LoginResponseDto } from './dto/login-response.dto';

const LOGIN_ATTEMPTS_PER_MINUTE = 20;

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('login')
  @HttpCode(HttpStatus.OK)
  // Password guessing: far fewer attempts per address than the API's general limit, and always
  // per address: a bearer token sent along (any user's) must not move the attempts to its bucket.
  @Throttle({ default: { limit: LOGIN_ATTEMPTS_PER_MINUTE, ttl: 60_000, getTracker: (req: Record<string, any>) => `ip:${req.ip}` } })
  @ApiTooManyRequestsResponse({ type: ErrorBodyDto, description: `More than ${LOGIN_ATTEMPTS_PER_MINUTE} attempts a minute from one address` })
  @ApiOperation({ summary: 'Exchange email and password for a bearer token' })
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'Missing or malformed email/password' })
  @ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'Wrong email or password (code INVALID_CREDENTIALS)' })
  login(@Body() dto: LoginDto): Promise<LoginResponseDto> {
    return this.auth.login(dto.email, dto.password);
  }
}
