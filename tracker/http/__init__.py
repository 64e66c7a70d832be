"""The layer below `edge` and `routes`, importing neither: the request context built once per request, the
shared answers (JSON error, pixel, refusal page, CORS), body reading under a limit, and the typed handles
through which handlers reach the process."""
