"""Where results go (stdlib and boto3 only): publishing, run files, the SQLite and DynamoDB task logs."""
