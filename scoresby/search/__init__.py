"""STAC API searches with pystac-client: from an area and dates to the items of a scene list."""
