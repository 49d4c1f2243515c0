"""The example host of nexus_shop: settings from the environment, served over WSGI by granian."""
