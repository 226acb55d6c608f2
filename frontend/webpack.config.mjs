// Builds both plugins as AMD modules Grafana loads, with Grafana's shared
// packages left external (same externals as @grafana/create-plugin's config):
//   dist/datasource/  module.js + plugin.json and img/ (copied from the repository root)
//   dist/panel/       module.js + plugin.json (frontend/panel/plugin.json) + img/
import CopyWebpackPlugin from 'copy-webpack-plugin';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import TerserPlugin from 'terser-webpack-plugin';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));

// The datasource plugin.json belongs to the backend (repository root); the build only copies it.
const datasourcePluginJson = process.env.FLEETSCOPE_PLUGIN_JSON || path.join(here, '..', 'plugin.json');

export const externals = [
  'lodash',
  'jquery',
  'moment',
  'slate',
  'emotion',
  '@emotion/react',
  '@emotion/css',
  'prismjs',
  'react',
  'react/jsx-runtime',
  'react/jsx-dev-runtime',
  'react-dom',
  'react-redux',
  'redux',
  'rxjs',
  'rxjs/operators',
  'i18next',
  'react-router',
  'd3',
  /^@grafana\/ui/i,
  /^@grafana\/runtime/i,
  /^@grafana\/data/i,
];

function readPluginJson(file, expectedId) {
  if (!fs.existsSync(file)) {
    throw new Error(
      `${file} does not exist. The datasource plugin.json is written by the backend at the repository root; ` +
        'set FLEETSCOPE_PLUGIN_JSON to build against another copy.'
    );
  }
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (json.id !== expectedId) {
    throw new Error(`${file}: id is "${json.id}", expected "${expectedId}"`);
  }
  return json;
}

const stamp = (content) =>
  content
    .toString()
    .replace(/%VERSION%/g, pkg.version)
    .replace(/%TODAY%/g, new Date().toISOString().slice(0, 10));

function pluginConfig(env, { name, id, entry, pluginJson, img }) {
  const production = Boolean(env.production);
  return {
    name,
    context: here,
    mode: production ? 'production' : 'development',
    devtool: production ? 'source-map' : 'eval-source-map',
    entry: { module: entry },
    externals,
    cache: { type: 'filesystem', name: `${name}-${production ? 'prod' : 'dev'}` },
    output: {
      path: path.join(here, 'dist', name),
      filename: '[name].js',
      library: { type: 'amd' },
      publicPath: `public/plugins/${id}/`,
      uniqueName: id,
      clean: true,
    },
    module: {
      rules: [
        {
          test: /\.[tj]sx?$/,
          exclude: /node_modules/,
          use: {
            loader: 'swc-loader',
            options: {
              jsc: {
                target: 'es2018',
                parser: { syntax: 'typescript', tsx: true },
                transform: { react: { runtime: 'automatic' } },
              },
            },
          },
        },
        // The lezer grammars are ES modules with extension-less imports.
        { test: /\.m?js$/, resolve: { fullySpecified: false } },
      ],
    },
    resolve: { extensions: ['.ts', '.tsx', '.js', '.jsx', '.mjs'] },
    optimization: {
      minimize: production,
      minimizer: [new TerserPlugin({ extractComments: false, terserOptions: { compress: { drop_console: ['log', 'info'] } } })],
    },
    performance: { hints: false },
    plugins: [
      new CopyWebpackPlugin({
        patterns: [
          { from: pluginJson, to: 'plugin.json', transform: stamp },
          { from: img, to: 'img', noErrorOnMissing: true },
        ],
      }),
    ],
  };
}

export default (env = {}) => {
  const root = readPluginJson(datasourcePluginJson, 'fleetscope-federation-datasource');
  const missing = ['metrics', 'logs', 'tracing', 'annotations', 'alerting', 'backend'].filter((k) => root[k] !== true);
  if (missing.length) {
    console.warn(`warning: ${datasourcePluginJson} does not set ${missing.map((k) => `"${k}": true`).join(', ')}`);
  }
  readPluginJson(path.join(here, 'panel', 'plugin.json'), 'fleetscope-llmops-panel');
  return [
    pluginConfig(env, {
      name: 'datasource',
      id: root.id,
      entry: './src/module.ts',
      pluginJson: datasourcePluginJson,
      // The datasource's logo lives with its plugin.json at the repository root.
      img: path.join(path.dirname(datasourcePluginJson), 'img'),
    }),
    pluginConfig(env, {
      name: 'panel',
      id: 'fleetscope-llmops-panel',
      entry: './panel/module.ts',
      pluginJson: path.join(here, 'panel', 'plugin.json'),
      img: path.join(here, 'panel', 'img'),
    }),
  ];
};
