/**
 * Test fixture: a complete ContainerConfig as `create` would write it for
 * `tsnspawn run --name web busybox sh`, for tests to override what they
 * look at. Used by unit tests and the runtime tests; not by the product.
 */
import { CONTAINER_CONFIG_VERSION, type ContainerConfig } from "../container/config.ts";

/** A full config with test defaults, `overrides` applied last. */
export function testContainerConfig(overrides: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    version: CONTAINER_CONFIG_VERSION,
    name: "web",
    id: "a".repeat(64),
    created: "2024-01-01T00:00:00.000Z",
    image: "docker.io/library/busybox:latest",
    imageId: "sha256:" + "b".repeat(64),
    lowerDirs: ["/var/lib/tsnspawn/images/layers/1"],
    command: ["sh"],
    env: ["PATH=/bin"],
    workingDir: "/",
    user: { uid: 0, gid: 0 },
    hostname: "aaaaaaaaaaaa",
    volumes: [],
    network: "none",
    capabilities: [],
    noNewPrivileges: true,
    init: false,
    tty: false,
    interactive: false,
    resources: {},
    restart: { policy: "no", maxRetries: 0 },
    stopTimeoutSec: 10,
    stopSignal: "SIGTERM",
    autoRemove: false,
    ...overrides,
  };
}
