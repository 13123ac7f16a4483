"""Helpers for infra/stack, the local Redis + FerretDB + Kafka stack (stdlib only)."""
