import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ErrorBodyDto } from '../../common/http/error-body.dto';
import { JwtAuthGuard } from '../auth/guards/jwt-auth.guard';
import { RolesGuard } from '../auth/guards/roles.guard';
import { SenderDto } from './dto/sender.dto';
import { SendersService } from './senders.service';

@ApiTags('whatsapp')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorBodyDto })
@UseGuards(JwtAuthGuard, RolesGuard)
@Controller('whatsapp')
export class SendersController {
  constructor(private readonly senders: SendersService) {}

  @Get('senders')
  @ApiOperation({ summary: 'Configured WhatsApp senders: throughput limit and backlog' })
  @ApiOkResponse({ type: SenderDto, isArray: true })
  list(): Promise<SenderDto[]> {
    return this.senders.list();
  }
}
