// npm run test:security: the attack battery against the built service, apart from `npm test`.
module.exports = {
  rootDir: '../..',
  testEnvironment: 'node',
  moduleFileExtensions: ['js', 'json', 'ts'],
  roots: ['<rootDir>/test/security'],
  testRegex: 'test/security/.*\\.security-spec\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 300000,
  maxWorkers: 1,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
};
