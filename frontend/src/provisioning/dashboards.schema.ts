/**
 * Schema check of the provisioned dashboards (`../../../dashboards/*.json`) against
 * Grafana's own dashboard types from `@grafana/schema`, done by `npm run typecheck`.
 *
 * The JSON files are imported as values, so TypeScript infers `string` for every
 * string: Grafana's string enums (e.g. `FieldColorModeId`, `ThresholdsMode`) could
 * never match. `Loose<T>` widens those enums to `string` and makes fields optional
 * (Grafana fills defaults on load) — everything else (field types, nesting, arrays,
 * numbers vs strings) is checked against the schema as Grafana ships it.
 */
import type { Dashboard } from '@grafana/schema';

import clusterOverview from '../../../dashboards/cluster-overview.json';
import cnfTelco from '../../../dashboards/cnf-telco.json';
import gpuFleet from '../../../dashboards/gpu-fleet.json';
import llmPlatform from '../../../dashboards/llm-platform.json';
import macosPower from '../../../dashboards/macos-power.json';

type Loose<T> = T extends string
  ? string
  : T extends number
    ? number
    : T extends boolean
      ? boolean
      : T extends Array<infer U>
        ? Array<Loose<U>>
        : T extends object
          ? { [K in keyof T]?: Loose<T[K]> }
          : T;

// One assignment per file, so an error names the dashboard.
export const clusterOverviewChecked: Loose<Dashboard> = clusterOverview;
export const cnfTelcoChecked: Loose<Dashboard> = cnfTelco;
export const gpuFleetChecked: Loose<Dashboard> = gpuFleet;
export const llmPlatformChecked: Loose<Dashboard> = llmPlatform;
export const macosPowerChecked: Loose<Dashboard> = macosPower;
