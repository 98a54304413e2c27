"""Repositories: the small set of queries each feature needs, one module per aggregate."""
