"""The Pulumi program: validate the stack config, build the platform, export its outputs."""

import pulumi

from components.config import ConfigError, load_stack_config
from components.platform import MlPlatform, MlPlatformArgs

try:
    stack_config = load_stack_config()
except ConfigError as error:
    # Nothing has been declared yet: report every problem, without a traceback.
    raise pulumi.RunError(str(error)) from None

platform = MlPlatform(
    "mlops",
    MlPlatformArgs(
        config=stack_config.platform,
        stack=pulumi.get_stack(),
        region=stack_config.region,
        kubeconfig=stack_config.kubeconfig,
    ),
)
for key, value in platform.outputs().items():
    pulumi.export(key, value)
