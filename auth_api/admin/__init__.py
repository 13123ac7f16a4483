"""Administration: the admin API's service (roles, disabling, listing users) and the
events it records. Framework-free, like every service."""
