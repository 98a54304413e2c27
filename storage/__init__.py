"""Persistence: models, repositories, migrations; one small file per database backend."""
