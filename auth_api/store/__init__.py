"""Where the user document lives: the ports the features use, and their MongoDB and
in-memory adapters."""
