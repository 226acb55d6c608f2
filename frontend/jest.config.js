// Jest: @swc/jest transpiles TS/TSX and the ESM-only packages @grafana/* pull in.
process.env.TZ = 'UTC';

// Packages under node_modules that ship only ES modules and must be transformed.
const esmOnly = [
  '@grafana/schema',
  '@grafana/lezer-logql',
  '@grafana/lezer-traceql',
  '@prometheus-io/lezer-promql',
  '@wojtekmaj/date-utils',
  'd3',
  'd3-[a-z-]+',
  'get-user-locale',
  'marked',
  'memoize',
  'mimic-function',
  'ol',
  'react-calendar',
  'react-colorful',
  'rxjs',
  'uuid',
];

const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', tsx: true },
      transform: { react: { runtime: 'automatic' } },
    },
  },
];

module.exports = {
  testEnvironment: 'jest-environment-jsdom',
  // Editor tests type into full Grafana UI trees; with six builds sharing 2 cores one took 33 s.
  testTimeout: 90_000,
  setupFilesAfterEnv: ['<rootDir>/jest-setup.ts'],
  testMatch: ['<rootDir>/{src,panel}/**/*.test.{ts,tsx}'],
  moduleNameMapper: {
    '\\.(css|scss|sass)$': 'identity-obj-proxy',
    // @grafana/ui's Icon fetches SVGs over HTTP; render a placeholder instead.
    'react-inlinesvg': '<rootDir>/src/test/inlineSvgMock.tsx',
  },
  transform: {
    '^.+\\.(t|j)sx?$': swc,
    '^.+\\.mjs$': swc,
  },
  transformIgnorePatterns: [`node_modules/(?!.*(${esmOnly.join('|')})/.*)`],
  watchPathIgnorePatterns: ['<rootDir>/node_modules', '<rootDir>/dist'],
};
