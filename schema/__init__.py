"""Strawberry types, inputs and error types, one module per domain; `schema.root` assembles
the executable schema."""
