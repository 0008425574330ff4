"""Running the service: structured logs, metrics, rate limits and the server's settings."""
