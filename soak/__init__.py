"""`python -m soak`: minutes of mixed load on a real API process, Kafka restarted midway,
then a check that nothing was lost. Not part of `make test`; run it as `make soak`."""
