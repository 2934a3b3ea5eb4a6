"""Resolvers (one module per domain), the request context and its dataloaders."""
