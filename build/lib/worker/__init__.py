"""Scoresby: Landsat 8/9 and Sentinel-2 scenes to Cloud-Optimized GeoTIFF products."""

__version__ = "0.1.0"
