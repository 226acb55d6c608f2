import { DataSourcePlugin } from '@grafana/data';

import { FleetscopeDataSource } from './datasource/datasource';
import { ConfigEditor } from './datasource/components/ConfigEditor';
import { QueryEditor } from './datasource/components/QueryEditor';
import { QueryHelp } from './datasource/components/QueryHelp';
import { FleetscopeOptions, FleetscopeQuery } from './types';

export const plugin = new DataSourcePlugin<FleetscopeDataSource, FleetscopeQuery, FleetscopeOptions>(FleetscopeDataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor)
  .setQueryEditorHelp(QueryHelp);
