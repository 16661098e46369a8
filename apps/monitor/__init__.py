"""The drift monitor: reference profile vs live prediction logs, Prometheus metrics, retraining trigger."""
