"""Tenant-bound storage and domain operations, one module per domain. Functions take the
session as a keyword-only argument so that the caller owns the transaction."""
