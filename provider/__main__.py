"""The package's provider: hosts the components of mlops_platform.provider.package; Pulumi's SDK
infers their schema (provider/schema.json is a committed copy of it)."""

from mlops_platform.provider.package import COMPONENTS, NAMESPACE, VERSION
from pulumi.provider.experimental import component_provider_host

if __name__ == "__main__":
    component_provider_host(list(COMPONENTS), name="mlops", namespace=NAMESPACE, version=VERSION)
