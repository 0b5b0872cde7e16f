import type { Settings } from './load.js';

/**
 * Where a setting came from, for one-line errors about its value:
 * `config/local.env: LOCAL_SUBNET`, `the environment: LOCAL_SUBNET`, or
 * `the default LOCAL_SUBNET` when no file sets it.
 */
export function settingWhere(settings: Pick<Settings, 'origin'>, key: string): string {
  const from = settings.origin[key];
  return from ? `${from}: ${key}` : `the default ${key}`;
}
