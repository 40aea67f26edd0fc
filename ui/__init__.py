"""Front ends: the CLI, the HTTP server (browser chat, Slack, JSON API)."""
