"""The stack configuration: one structured key, `mlops-platform:platform`, validated up front.

- model.py: what a stack file may say (composed of each component's settings) and the checks only
  the whole stack can make;
- errors.py: problems as people read them, every one at once;
- loader.py: reading it from a running program or from a mapping.
"""

from .errors import ConfigError
from .loader import (
    CONFIG_KEY,
    PROJECT,
    DictSecrets,
    SecretSource,
    StackConfig,
    load_stack_config,
    parse_platform_config,
)
from .model import PlatformConfig

__all__ = [
    "CONFIG_KEY",
    "PROJECT",
    "ConfigError",
    "DictSecrets",
    "PlatformConfig",
    "SecretSource",
    "StackConfig",
    "load_stack_config",
    "parse_platform_config",
]
