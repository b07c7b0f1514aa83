"""Finding a scene's band files: sources (local, s3://, https://), Landsat MTL and Sentinel-2 metadata."""
