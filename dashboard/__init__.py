"""Read-only views of stored studies: Pareto fronts, progress, design-space analysis, trials."""

#: The environment variable that carries the storage URL to the app (keeps passwords off argv).
ENV_STORAGE = "NAS_DASHBOARD_STORAGE"
#: Set by `python -m dashboard --host HOST` to the address the user chose to listen on;
#: without it the app refuses to serve studies on any address but loopback.
ENV_HOST = "NAS_DASHBOARD_HOST"
