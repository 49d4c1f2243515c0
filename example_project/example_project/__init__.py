"""The example host of nexus_shop: settings from the environment, served by uvicorn."""
