"""The nexus_shop read API written the usual Django REST Framework way: the baseline."""
