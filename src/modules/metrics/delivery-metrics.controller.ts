import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ErrorBodyDto } from '../../common/http/error-body.dto';
import { Roles } from '../auth/decorators/roles.decorator';
import { UserRole } from '../auth/entities/user.entity';
import { JwtAuthGuard } from '../auth/guards/jwt-auth.guard';
import { RolesGuard } from '../auth/guards/roles.guard';
import { DeliveryMetricsService } from './delivery-metrics.service';
import { DeliveryMetricsReportDto } from './dto/delivery-metrics.dto';
import { DeliveryMetricsQueryDto } from './dto/delivery-metrics-query.dto';

@ApiTags('metrics')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'Missing, expired or invalid bearer token' })
@ApiForbiddenResponse({ type: ErrorBodyDto, description: 'Not an admin' })
@UseGuards(JwtAuthGuard, RolesGuard)
@Roles(UserRole.Admin)
@Controller('whatsapp')
export class DeliveryMetricsController {
  constructor(private readonly metrics: DeliveryMetricsService) {}

  @Get('delivery-metrics')
  @ApiOperation({
    summary: 'Delivery metrics of outbound messages created in a window',
    description: 'Counts per status, delivery/read/failure rates, delivery time (average, p50, p95), top error codes and the current queue backlog. See docs/metrics.md.',
  })
  @ApiOkResponse({ type: DeliveryMetricsReportDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'VALIDATION_FAILED: bad since/until/from, until not after since, or a window over 90 days' })
  deliveryMetrics(@Query() query: DeliveryMetricsQueryDto): Promise<DeliveryMetricsReportDto> {
    return this.metrics.metrics(query);
  }
}
