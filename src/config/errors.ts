/**
 * A setting Docket cannot start with. The message names the setting as the operator wrote it (a
 * variable `DOCKET_LEASE_MS=…`, a flag `--role`, or the file and the path of the entry
 * `docket.json: /alerts/rules/2/above`) and what it expects; the CLI prints it and exits 2.
 */
export class ConfigError extends Error {}
