"""One module per `scoresby` subcommand; they compose discovery, raster and stores."""
