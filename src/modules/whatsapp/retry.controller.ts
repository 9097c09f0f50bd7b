import { Body, Controller, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ErrorBodyDto } from '../../common/http/error-body.dto';
import { Roles } from '../auth/decorators/roles.decorator';
import { UserRole } from '../auth/entities/user.entity';
import { JwtAuthGuard } from '../auth/guards/jwt-auth.guard';
import { RolesGuard } from '../auth/guards/roles.guard';
import { RetryRequestDto, RetryResponseDto } from './dto/retry.dto';
import { RetryService } from './retry.service';

@ApiTags('whatsapp')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard, RolesGuard)
@Controller('whatsapp')
export class RetryController {
  constructor(private readonly retries: RetryService) {}

  @Post('retry')
  @HttpCode(HttpStatus.OK)
  @Roles(UserRole.Admin)
  @ApiOperation({
    summary: 'Send failed messages again (admin)',
    description:
      'Each retry is a new message linked by retryOf; the original keeps its history. Permanent failures (e.g. 21211 invalid number), opted-out recipients and messages already retried are skipped with a reason. Default: every retryable failed message of the last 24 hours, up to limit.',
  })
  @ApiOkResponse({ type: RetryResponseDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  @ApiUnauthorizedResponse({ type: ErrorBodyDto })
  @ApiForbiddenResponse({ type: ErrorBodyDto, description: 'Not an admin' })
  retry(@Body() request: RetryRequestDto): Promise<RetryResponseDto> {
    return this.retries.retryFailed(request);
  }
}
