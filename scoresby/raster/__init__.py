"""Raster work with numpy, rasterio and matplotlib, no boto3: array ops, windowed reads, COGs, plots, STAC."""
