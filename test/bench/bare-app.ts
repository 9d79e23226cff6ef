import 'reflect-metadata';
import { Controller, HttpCode, MiddlewareConsumer, Module, NestModule, Post, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { raw, Request } from 'express';

/** The baseline: a bare NestJS express route that only reads the raw body and answers {}. */
@Controller()
class BareController {
  @Post('bots/:bot/webhook')
  @HttpCode(200)
  receive(@Req() req: Request) {
    void (req.body as Buffer).length;
    return {};
  }
}

@Module({ controllers: [BareController] })
class BareModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(raw({ type: () => true, limit: '16mb' })).forRoutes('*');
  }
}

async function main() {
  const app = await NestFactory.create(BareModule, { bodyParser: false, logger: false });
  await app.listen(Number(process.env.PORT ?? 3900), '127.0.0.1');
  process.send?.('ready');
}

void main();
