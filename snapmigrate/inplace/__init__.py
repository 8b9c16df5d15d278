"""The in-place path: convert, add Serverless v2 readers, fail over, remove the rest."""
