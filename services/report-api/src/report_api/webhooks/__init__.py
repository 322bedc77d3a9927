"""Webhook subscriptions to report-api's ``obligation.*`` events (delivered by the shared outbox relay)."""
