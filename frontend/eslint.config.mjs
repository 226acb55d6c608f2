import { defineConfig } from 'eslint/config';
import grafanaConfig from '@grafana/eslint-config/flat.js';

export default defineConfig([
  { ignores: ['node_modules/', 'dist/', 'artifacts/', 'coverage/', 'harness/build/'] },
  ...grafanaConfig,
  { rules: { 'react/prop-types': 'off', 'react/react-in-jsx-scope': 'off', 'react/jsx-uses-react': 'off' } },
  {
    files: ['src/**/*.{ts,tsx}', 'panel/**/*.{ts,tsx}', 'harness/**/*.{ts,tsx}'],
    languageOptions: { parserOptions: { project: './tsconfig.json' } },
    rules: { '@typescript-eslint/no-deprecated': 'warn' },
  },
]);
