"""The example model's Feast repository (apps/features/feature_repo) and how to write its offline data."""
