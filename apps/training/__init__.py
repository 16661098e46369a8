"""The training pipeline: versioned data -> validation -> features -> search -> evaluation -> promotion."""
