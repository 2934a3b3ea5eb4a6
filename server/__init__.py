"""The Starlette application, its command line, configuration and request plumbing."""
