"""The ML services: MLflow (`MlflowTracking`), the feature store (`FeatureStore`), Prometheus,
Alertmanager and Grafana (`Monitoring`, dashboards built in `dashboards`), KServe (`ModelServing`)
and its endpoints (`ModelEndpoint`), training (`TrainingPipeline`) and the drift monitor
(`DriftMonitor`). Imports `kit/`, `cluster/`, `data/` and the contracts (`mlops_platform.contracts`)."""
