"""`scoresby view`: a loopback web server of one run folder and its map page (OpenLayers + geotiff.js)."""
