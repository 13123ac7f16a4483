"""The native server stack: infra/stack and, for Python tools and tests, stack_lib.api."""
