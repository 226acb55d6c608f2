import { DataSourceSettings } from '@grafana/data';

import { FleetscopeOptions } from '../../../types';

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

/** Every stored or pending secret of one cluster. */
export function clusterSecretKeys(options: Settings, clusterId: string): string[] {
  const prefix = `${clusterId}.`;
  const keys = new Set([...Object.keys(options.secureJsonFields ?? {}), ...Object.keys(options.secureJsonData ?? {})]);
  return Array.from(keys).filter((k) => k.startsWith(prefix) && (options.secureJsonFields?.[k] || options.secureJsonData?.[k]));
}

/**
 * Renaming a cluster: secrets cannot be read back, so a pending (typed, unsaved)
 * secret moves to the new id, a stored one is deleted and must be entered again.
 */
export function renameClusterSecrets(options: Settings, from: string, to: string): Settings {
  if (from === to) {
    return options;
  }
  const keys = clusterSecretKeys(options, from);
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
