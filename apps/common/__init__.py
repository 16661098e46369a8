"""What the apps share: the metrics contract, settings helpers, MLflow access."""
