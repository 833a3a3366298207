"""The part of Runpod's GraphQL schema that runpod-python 1.12 and the podsmith provider use.

Field and input names follow the requests the SDK sends (`runpod/api/queries`, `runpod/api/mutations`)
and Runpod's public GraphQL reference. The SDK inlines every argument, so the schema validates the very
text a client sends: an unescaped quote in a name makes the request invalid, as it would on Runpod.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLSchema, build_schema

SDL = """
scalar Void

enum CloudTypeEnum { ALL SECURE COMMUNITY }

type Query {
  gpuTypes(input: GpuTypeFilter): [GpuType]
  pod(input: PodFilter!): Pod
  myself: User
}

type Mutation {
  podFindAndDeployOnDemand(input: PodFindAndDeployOnDemandInput!): Pod
  podStop(input: PodStopInput!): Pod
  podTerminate(input: PodTerminateInput!): Void
}

input GpuTypeFilter { id: String }

input GpuLowestPriceInput {
  gpuCount: Int
  secureCloud: Boolean
  minMemoryInGb: Int
  minVcpuCount: Int
  minDisk: Int
  minDownload: Int
  minUpload: Int
  supportPublicIp: Boolean
  dataCenterId: String
  countryCode: String
}

type GpuType {
  id: String!
  displayName: String
  manufacturer: String
  memoryInGb: Int
  cudaCores: Int
  maxGpuCount: Int
  secureCloud: Boolean
  communityCloud: Boolean
  securePrice: Float
  communityPrice: Float
  secureSpotPrice: Float
  communitySpotPrice: Float
  oneMonthPrice: Float
  threeMonthPrice: Float
  oneWeekPrice: Float
  lowestPrice(input: GpuLowestPriceInput): LowestPrice
}

type LowestPrice {
  gpuName: String
  gpuTypeId: String
  minimumBidPrice: Float
  uninterruptablePrice: Float
  stockStatus: String
  minMemory: Int
  minVcpu: Int
}

input PodFilter { podId: String! }

input EnvironmentVariableInput { key: String!, value: String! }

input PodFindAndDeployOnDemandInput {
  name: String
  imageName: String
  cloudType: CloudTypeEnum
  startSsh: Boolean
  gpuTypeId: String
  supportPublicIp: Boolean
  gpuCount: Int
  volumeInGb: Int
  containerDiskInGb: Int
  minVcpuCount: Int
  minMemoryInGb: Int
  allowedCudaVersions: [String]
  dataCenterId: String
  countryCode: String
  dockerArgs: String
  ports: String
  volumeMountPath: String
  env: [EnvironmentVariableInput]
  templateId: String
  networkVolumeId: String
  minDownload: Int
  minUpload: Int
}

input PodStopInput { podId: String!, incrementVersion: Boolean }

input PodTerminateInput { podId: String! }

type PodPort { ip: String, isIpPublic: Boolean, privatePort: Int, publicPort: Int, type: String }

type PodRuntime { uptimeInSeconds: Int, ports: [PodPort] }

type PodMachine { podHostId: String, gpuDisplayName: String }

type Pod {
  id: String!
  name: String
  imageName: String
  desiredStatus: String
  costPerHr: Float
  env: [String]
  gpuCount: Int
  containerDiskInGb: Int
  volumeInGb: Float
  volumeMountPath: String
  dockerArgs: String
  dockerId: String
  lastStatusChange: String
  machineId: String
  memoryInGb: Float
  vcpuCount: Float
  podType: String
  port: Int
  ports: String
  uptimeSeconds: Int
  runtime: PodRuntime
  machine: PodMachine
}

type User { id: String, pods: [Pod] }
"""

SCHEMA: GraphQLSchema = build_schema(SDL)


@dataclass
class GpuTypeEntry:
    """One GPU type the emulator rents out; prices are per GPU-hour in USD."""

    id: str
    display_name: str
    memory_gb: int
    secure_price: float | None
    community_price: float | None
    secure_spot_price: float | None = None
    community_spot_price: float | None = None
    max_gpu_count: int = 8


def default_gpu_types() -> list[GpuTypeEntry]:
    """Return the GPU types used in tests; the prices are test values, not Runpod's."""
    return [
        GpuTypeEntry("NVIDIA L40S", "L40S", 48, 0.86, 0.79, 0.40, 0.35),
        GpuTypeEntry("NVIDIA A100-SXM4-80GB", "A100 SXM", 80, 1.74, 1.39, 0.90, 0.80),
        GpuTypeEntry("NVIDIA A100 80GB PCIe", "A100 PCIe", 80, 1.64, 1.19, 0.85, 0.75),
        GpuTypeEntry("NVIDIA H100 80GB HBM3", "H100 SXM", 80, 2.99, 2.69, 1.75, 1.50),
        GpuTypeEntry("NVIDIA H100 PCIe", "H100 PCIe", 80, 2.39, 1.99, 1.40, 1.20),
        GpuTypeEntry("NVIDIA H100 NVL", "H100 NVL", 94, 2.79, 2.59, 1.60, 1.40),
        GpuTypeEntry("NVIDIA H200", "H200 SXM", 141, 3.99, 3.59, 2.30, 2.00),
        GpuTypeEntry("NVIDIA B200", "B200", 180, 5.99, None, 3.50, None),
        GpuTypeEntry("NVIDIA RTX A6000", "RTX A6000", 48, 0.49, 0.33, 0.25, 0.20),
        GpuTypeEntry("NVIDIA GeForce RTX 4090", "RTX 4090", 24, 0.69, 0.34, 0.35, 0.20),
        GpuTypeEntry("NVIDIA L4", "L4", 24, 0.43, 0.28, 0.22, 0.15, max_gpu_count=4),
    ]
