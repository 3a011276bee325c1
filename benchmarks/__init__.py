"""nbtrack's benchmark suite: nbtrack against MLflow and W&B offline. See README.md."""
