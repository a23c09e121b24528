/** Public surface of the gateway module (runner side and reference gateway). */
export { runRunner, RunnerExit, RUNNER_CAPABILITIES, type ServeRfb, type StreamInfo, type RunnerHooks } from './runner.js';
export {
  parseRunnerArgs,
  parsePollInterval,
  describeRunnerOptions,
  RUNNER_USAGE,
  CAPABILITY_TOKEN_ENV,
  RUNNER_VALUE_FLAGS,
  RUNNER_SWITCH_FLAGS,
  type ParseRunnerArgsOptions,
  type RunnerOptions,
  type DisplayMode,
  type ParsedRunnerArgs,
} from './runner-options.js';
export { startReferenceGateway, type ReferenceGateway, type ReferenceGatewayOptions } from './reference/server.js';
export { parseGatewayArgs, runGatewayCommand, GATEWAY_USAGE, type GatewayCliOptions } from './reference/cli.js';
export { provisionRun, type ProvisionedRun, type ProvisionOptions } from './reference/provision.js';
