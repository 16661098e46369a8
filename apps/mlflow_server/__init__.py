"""The MLflow tracking server image: MLflow with the Postgres driver, and the user bootstrap script."""
