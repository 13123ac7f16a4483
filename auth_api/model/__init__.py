"""The domain types: a user, its sessions and its pending events (one MongoDB
document), and the clock."""
