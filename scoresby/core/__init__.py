"""The pure core: standard library only, shipped whole in the Lambda asset ."""
