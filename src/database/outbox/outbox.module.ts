import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxEntry } from './outbox-entry.entity';
import { OutboxWriter } from './outbox.writer';

@Module({
  imports: [TypeOrmModule.forFeature([OutboxEntry])],
  providers: [OutboxWriter],
  exports: [OutboxWriter, TypeOrmModule],
})
export class OutboxModule {}
