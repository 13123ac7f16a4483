"""Helpers for infra/stack, the local Redis + mongo-java-server + Kafka stack (stdlib only)."""
