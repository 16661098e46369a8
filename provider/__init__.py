"""The components as a multi-language Pulumi package: `package` declares what each component takes
from another language (its shells over the components), `settings` is generated from the settings
models (`make schema`), `__main__` is the plugin PulumiPlugin.yaml runs. Installed as
`mlops_platform.provider`; it imports the components, never the other way round."""
