"""What the background workers of a process share."""
