"""snapmigrate: move Aurora PostgreSQL clusters to Serverless v2 by snapshot and restore."""

__version__ = "0.1.0"
