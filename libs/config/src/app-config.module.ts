import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { buildConfiguration } from './configuration';

/**
 * Global typed configuration. The environment is passed in (process.env by default) so that a test can boot a
 * second instance with other settings in the same process.
 */
@Module({})
export class AppConfigModule {
  static forRoot(env: Record<string, string | undefined> = process.env): DynamicModule {
    const configuration = buildConfiguration(env);
    return {
      module: AppConfigModule,
      imports: [ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, cache: false, load: [() => configuration] })],
      exports: [ConfigModule],
    };
  }
}
