"""Kafka consumers of the auth events: a reusable runner, the reference quiz-side
consumer (player profiles) and an ops tool that prints events as they arrive."""
