import { Injectable } from '@nestjs/common';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { AuthenticatedUser } from '../auth/auth.types';
import { UserRole } from '../auth/entities/user.entity';
import { ListTemplatesQueryDto, TemplateDto, TemplateListDto } from './dto/template.dto';
import { CatalogTemplate, TemplateCatalog } from './template-catalog.service';

function toDto(t: CatalogTemplate): TemplateDto {
  return {
    sid: t.sid,
    friendlyName: t.friendlyName,
    language: t.language,
    types: Object.keys(t.types),
    variables: t.variableList.map((v) => ({ ...v })),
    approvalStatus: t.approvalStatus,
    dateUpdated: t.dateUpdated?.toISOString() ?? null,
  };
}

/** The listing of the account's templates as the API answers it. */
@Injectable()
export class TemplatesService {
  constructor(private readonly catalog: TemplateCatalog) {}

  async list(query: ListTemplatesQueryDto, user: AuthenticatedUser): Promise<TemplateListDto> {
    // A listing costs Twilio requests: senders read the cache, admins may force a listing.
    if (query.refresh && user.role !== UserRole.Admin) {
      throw new DomainException(ErrorCode.Forbidden, 'refresh=true needs the admin role; the cached listing is renewed every CONTENT_TEMPLATES_TTL_MS');
    }
    const snapshot = await this.catalog.templates(query.refresh === true);
    const q = query.q?.toLowerCase();
    const templates = snapshot.templates.filter(
      (t) => (!query.language || t.language === query.language) && (!q || t.friendlyName.toLowerCase().includes(q) || t.sid.toLowerCase().includes(q)),
    );
    return { templates: templates.map(toDto), syncedAt: snapshot.syncedAt.toISOString() };
  }

  async refresh(): Promise<TemplateListDto> {
    const snapshot = await this.catalog.templates(true);
    return { templates: snapshot.templates.map(toDto), syncedAt: snapshot.syncedAt.toISOString() };
  }
}
