"""A throwaway Django project that serves nexus_shop and the DRF baseline side by side."""
