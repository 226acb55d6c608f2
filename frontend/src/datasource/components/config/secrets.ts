import { DataSourceSettings } from '@grafana/data';

import { DISCOVERY_SECRET_PREFIX, FleetscopeOptions } from '../../../types';

export type Settings = DataSourceSettings<FleetscopeOptions, Record<string, string>>;

/** Props for a SecretInput/SecretTextArea bound to `secureJsonData[key]`: set or reset, never shown. */
export function secretBinding(options: Settings, onOptionsChange: (o: Settings) => void, key: string) {
  return {
    isConfigured: !!options.secureJsonFields?.[key],
    value: options.secureJsonData?.[key] ?? '',
    onChange: (e: { currentTarget: { value: string } }) =>
      onOptionsChange({ ...options, secureJsonData: { ...options.secureJsonData, [key]: e.currentTarget.value } }),
    onReset: () => onOptionsChange(resetSecrets(options, [key])),
  };
}

/** Delete stored secrets: Grafana removes a secure field sent as `secureJsonFields[k]=false, secureJsonData[k]=''`. */
export function resetSecrets(options: Settings, keys: string[]): Settings {
  const secureJsonFields = { ...options.secureJsonFields };
  const secureJsonData = { ...options.secureJsonData };
  for (const key of keys) {
    secureJsonFields[key] = false;
    secureJsonData[key] = '';
  }
  return { ...options, secureJsonFields, secureJsonData };
}

/** Every stored or pending secret whose key starts with `prefix`. */
export function secretKeysWithPrefix(options: Settings, prefix: string): string[] {
  const keys = new Set([...Object.keys(options.secureJsonFields ?? {}), ...Object.keys(options.secureJsonData ?? {})]);
  return Array.from(keys).filter((k) => k.startsWith(prefix) && (options.secureJsonFields?.[k] || options.secureJsonData?.[k]));
}

/** Every stored or pending secret of one cluster. */
export function clusterSecretKeys(options: Settings, clusterId: string): string[] {
  return secretKeysWithPrefix(options, `${clusterId}.`);
}

/** Every stored or pending secret of one discovery source (`discoverySources.<name>.*`). */
export function discoverySecretKeys(options: Settings, source: string): string[] {
  return secretKeysWithPrefix(options, `${DISCOVERY_SECRET_PREFIX}${source}.`);
}

/**
 * Secrets cannot be read back: moving them from one key prefix to another
 * moves a pending (typed, unsaved) secret and deletes a stored one, which must
 * be entered again.
 */
function moveSecrets(options: Settings, from: string, to: string, keys: string[]): Settings {
  let next = resetSecrets(options, keys);
  const moved: Record<string, string> = {};
  for (const key of keys) {
    const pending = options.secureJsonData?.[key];
    if (pending) {
      moved[to + key.slice(from.length)] = pending;
    }
  }
  next = { ...next, secureJsonData: { ...next.secureJsonData, ...moved } };
  return next;
}

/** Renaming a cluster: its secrets follow as far as they can (see `moveSecrets`). */
export function renameClusterSecrets(options: Settings, from: string, to: string): Settings {
  if (from === to) {
    return options;
  }
  return moveSecrets(options, `${from}.`, `${to}.`, clusterSecretKeys(options, from));
}

/** Renaming a discovery source: its `discoverySources.<name>.*` secrets follow as far as they can. */
export function renameDiscoverySecrets(options: Settings, from: string, to: string): Settings {
  if (from === to) {
    return options;
  }
  return moveSecrets(options, `${DISCOVERY_SECRET_PREFIX}${from}.`, `${DISCOVERY_SECRET_PREFIX}${to}.`, discoverySecretKeys(options, from));
}
