"""Read-only views of stored studies: Pareto fronts, progress, design-space analysis, trials."""

#: The environment variable that carries the storage URL to the app (keeps passwords off argv).
ENV_STORAGE = "NAS_DASHBOARD_STORAGE"
