// Bundles the harness page: React, @emotion/css and the Grafana packages that
// Grafana itself would provide to plugins, plus the AMD shim that loads the
// unmodified dist/*/module.js. Development mode: no minification (15 MB, fast).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export default {
  name: 'harness',
  mode: 'development',
  devtool: false,
  context: here,
  entry: { harness: './harness.tsx' },
  output: { path: path.join(here, 'build'), filename: '[name].js', publicPath: '/harness/build/', clean: true },
  cache: { type: 'filesystem', name: 'harness' },
  module: {
    rules: [
      {
        test: /\.[tj]sx?$/,
        exclude: /node_modules/,
        use: {
          loader: 'swc-loader',
          options: {
            jsc: {
              target: 'es2020',
              parser: { syntax: 'typescript', tsx: true },
              transform: { react: { runtime: 'automatic' } },
            },
          },
        },
      },
      { test: /\.m?js$/, resolve: { fullySpecified: false } },
      { test: /\.css$/, use: ['style-loader', 'css-loader'] },
      { test: /\.(svg|png|woff2?|ttf|eot)$/, type: 'asset/resource' },
    ],
  },
  resolve: { extensions: ['.ts', '.tsx', '.js', '.jsx', '.mjs'] },
  performance: { hints: false },
};
